// The call page wired to a fake Socket.IO server: join with the invite, chat without
// duplicates, a streamed tutor reply, stop, notices, the end of the room.
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakePeerConnection } from "@/test/fakePeerConnection";
import { FakeSocket } from "@/test/fakeSocket";
import { IdentityProvider } from "@/shared/hooks/useIdentity";
import { CallPage } from "./CallPage";

const sockets: FakeSocket[] = [];
vi.mock("socket.io-client", () => ({
  io: () => {
    const s = new FakeSocket();
    s.acks.join = (payload) => ({
      ok: true,
      peers: [],
      messages: [],
      you: { sid: s.id, user_id: "me", display_name: "Lena" },
      room: { room_id: (payload as { room_id: string }).room_id, owner_id: "someone-else", companion_id: "ada-math", status: "active", created_at: 1 },
    });
    s.acks.message = (payload) => {
      const p = payload as { text: string; client_id: string; room_id: string };
      return {
        ok: true,
        message: {
          id: `m-${p.client_id}`, seq: 1, room_id: p.room_id, text: p.text, ts: 1, client_id: p.client_id,
          sender: { kind: "user", user_id: "me", display_name: "Lena" },
        },
      };
    };
    sockets.push(s);
    return s;
  },
}));

const json = (body: unknown) =>
  Promise.resolve(new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } }));

function fakeStream() {
  const tracks = [
    { kind: "audio", enabled: true, stop: vi.fn() },
    { kind: "video", enabled: true, stop: vi.fn(), addEventListener: vi.fn() },
  ];
  return {
    getTracks: () => tracks,
    getAudioTracks: () => [tracks[0]],
    getVideoTracks: () => [tracks[1]],
  } as unknown as MediaStream;
}

beforeEach(() => {
  sockets.length = 0;
  localStorage.setItem(
    "holo.identity",
    JSON.stringify({ token: "tok", user_id: "me", display_name: "Lena", expires_at: Date.now() / 1000 + 3600 }),
  );
  vi.stubGlobal("fetch", (url: string) =>
    url === "/api/ice-servers"
      ? json({ ice_servers: [], ttl: 3600, relay_available: false })
      : json({ id: "ada-math", name: "Ada", subject: "mathematics" }),
  );
  vi.stubGlobal("RTCPeerConnection", FakePeerConnection);
  Object.defineProperty(navigator, "mediaDevices", {
    value: { getUserMedia: vi.fn().mockResolvedValue(fakeStream()) },
    configurable: true,
  });
  vi.spyOn(HTMLMediaElement.prototype, "play").mockResolvedValue(undefined);
  vi.spyOn(HTMLMediaElement.prototype, "pause").mockImplementation(() => {});
});

afterEach(() => vi.unstubAllGlobals());

function renderCall() {
  render(
    <MemoryRouter initialEntries={["/rooms/room-1?invite=inv-tok"]}>
      <IdentityProvider>
        <Routes>
          <Route path="/rooms/:roomId" element={<CallPage />} />
          <Route path="/" element={<p>home</p>} />
        </Routes>
      </IdentityProvider>
    </MemoryRouter>,
  );
}

describe("CallPage", () => {
  it("joins with the invite, chats once per message, streams and stops the tutor", async () => {
    renderCall();
    expect(await screen.findByRole("heading", { name: "Session with Ada" })).toBeInTheDocument();
    const socket = sockets[0];
    expect(socket.emitted.find((e) => e.event === "join")?.payload).toEqual({
      room_id: "room-1",
      invite_token: "inv-tok",
    });
    expect(screen.getByRole("status", { name: "" })).toHaveTextContent("Waiting for someone to join");
    expect(screen.getByLabelText("Invite link for a second person")).toHaveValue(
      `${window.location.origin}/rooms/room-1?invite=inv-tok`,
    );

    // Our message: the ack and a (retried) broadcast of the same message show it once.
    await userEvent.type(screen.getByLabelText("Message"), "What is a fraction?{Enter}");
    await screen.findByText("What is a fraction?");
    const sent = socket.emitted.find((e) => e.event === "message")!.payload as { client_id: string };
    act(() =>
      socket.push("message", {
        id: `m-${sent.client_id}`, seq: 1, room_id: "room-1", text: "What is a fraction?", ts: 1,
        client_id: sent.client_id, sender: { kind: "user", user_id: "me", display_name: "Lena" },
      }),
    );
    expect(screen.getAllByText("What is a fraction?")).toHaveLength(1);

    // The tutor streams; Stop interrupts this reply.
    act(() => socket.push("ai-delta", { reply_id: "r1", reply_to: `m-${sent.client_id}`, text: "A fraction " }));
    act(() => socket.push("ai-delta", { reply_id: "r1", reply_to: `m-${sent.client_id}`, text: "is a part" }));
    expect(screen.getByText("A fraction is a part")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Stop Ada" }));
    expect(socket.emitted.at(-1)).toEqual({ event: "stop", payload: { room_id: "room-1", reply_id: "r1" } });
    act(() =>
      socket.push("ai-done", {
        reply_id: "r1",
        message: {
          id: "a1", seq: 2, room_id: "room-1", text: "A fraction is a part", ts: 2,
          sender: { kind: "ai", display_name: "Ada" }, reply_to: `m-${sent.client_id}`,
          metadata: { reply_id: "r1", interrupted: true },
        },
      }),
    );
    expect(screen.getAllByText("A fraction is a part")).toHaveLength(1);
    expect(screen.getByText("(stopped)")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Stop Ada" })).not.toBeInTheDocument();

    // Notices from the tutor, then the end of the room.
    act(() => socket.push("ai-error", { code: "upstream_error", message: "The tutor's AI service is unavailable." }));
    expect(screen.getByRole("alert")).toHaveTextContent("unavailable");
    act(() => socket.push("notice", { code: "room_ended", message: "The room has ended.", session_id: "s1" }));
    expect(await screen.findByRole("heading", { name: "This session has ended" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "See the transcript" })).toHaveAttribute("href", "/history/s1");
  });

  it("says so when the server refuses the connection for too many open tabs", async () => {
    renderCall();
    await screen.findByRole("heading", { name: "Session with Ada" });
    const refusal = Object.assign(new Error("You have 5 connections open already; close a tab and try again."), {
      data: { code: "too_many_connections" },
    });
    act(() => {
      sockets[0].connected = false;
      sockets[0].push("connect_error", refusal);
    });
    expect(screen.getByRole("alert")).toHaveTextContent("close a tab");
    expect(screen.getByRole("status", { name: "" })).toHaveTextContent("reconnecting");
  });

  it("rejoins after the socket reconnects, and an invitee's Leave goes home", async () => {
    renderCall();
    await screen.findByRole("heading", { name: "Session with Ada" });
    const socket = sockets[0];
    act(() => {
      socket.connected = false;
      socket.push("disconnect", "transport close");
    });
    expect(screen.getByRole("status", { name: "" })).toHaveTextContent("reconnecting");
    act(() => {
      socket.connected = true;
      socket.id = "sidA2";
      socket.push("connect");
    });
    await waitFor(() => expect(socket.emitted.filter((e) => e.event === "join")).toHaveLength(2));
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "" })).toHaveTextContent("Waiting for someone to join"),
    );
    await userEvent.click(screen.getByRole("button", { name: "Leave call" }));
    expect(await screen.findByText("home")).toBeInTheDocument();
    // Leaving the page closes the socket: the server removes us and tells the room.
    expect(socket.connected).toBe(false);
  });
});

describe("CallPage tutor voice", () => {
  it("plays ai-audio clips, and the speaker toggle turns the voice off (remembered)", async () => {
    renderCall();
    await screen.findByRole("heading", { name: "Session with Ada" });
    const socket = sockets[0];
    const play = vi.mocked(HTMLMediaElement.prototype.play);
    const before = play.mock.calls.length;
    act(() => socket.push("ai-audio", { reply_id: "r1", seq: 0, url: "/media/0.mp3", text: "Hello there." }));
    await waitFor(() => expect(screen.getByTestId("voice")).toHaveTextContent("Ada is speaking: “Hello there.”"));
    expect(play.mock.calls.length).toBe(before + 1);

    await userEvent.click(screen.getByRole("button", { name: "Turn tutor voice off" }));
    expect(localStorage.getItem("holo.speaker")).toBe("off");
    expect(screen.getByTestId("voice")).toHaveAttribute("data-speaking", "no");
    act(() => socket.push("ai-audio", { reply_id: "r2", seq: 0, url: "/media/1.mp3", text: "Again." }));
    expect(screen.getByTestId("voice")).toHaveAttribute("data-speaking", "no");
    expect(screen.getByRole("button", { name: "Turn tutor voice on" })).toBeInTheDocument();
  });
});
