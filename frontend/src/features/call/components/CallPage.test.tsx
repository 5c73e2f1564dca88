// The call page wired to a fake Socket.IO server: join with the invite, chat without
// duplicates, a streamed tutor reply, stop, notices, the end of the room.
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakePeerConnection } from "@/test/fakePeerConnection";
import { FakeSocket } from "@/test/fakeSocket";
import { IdentityProvider } from "@/shared/hooks/useIdentity";
import { CallPage } from "./CallPage";

const sockets: FakeSocket[] = [];
const pcs: FakePeerConnection[] = [];
// What the server answers to tutor-offer and who else is in the room, per test.
let tutorOffer: (payload: unknown) => unknown;
let otherPeers: { sid: string; user_id: string; display_name: string }[];

class RecordingPeerConnection extends FakePeerConnection {
  constructor(config: RTCConfiguration) {
    super(config);
    pcs.push(this);
  }
}

vi.mock("socket.io-client", () => ({
  io: () => {
    const s = new FakeSocket();
    s.acks["tutor-offer"] = (payload) => tutorOffer(payload);
    s.acks.join = (payload) => ({
      ok: true,
      peers: otherPeers,
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

const callStatus = () => document.querySelector(".status[role=status]");
const tutorTile = () => screen.getByTestId("tutor-tile");

beforeEach(() => {
  sockets.length = 0;
  pcs.length = 0;
  otherPeers = [];
  tutorOffer = () => ({ ok: true, sdp: { type: "answer", sdp: "answer from the replica" } });
  localStorage.setItem(
    "holo.identity",
    JSON.stringify({ token: "tok", user_id: "me", display_name: "Lena", expires_at: Date.now() / 1000 + 3600 }),
  );
  vi.stubGlobal("fetch", (url: string) =>
    url === "/api/ice-servers"
      ? json({ ice_servers: [], ttl: 3600, relay_available: false })
      : json({ id: "ada-math", name: "Ada", subject: "mathematics" }),
  );
  vi.stubGlobal("RTCPeerConnection", RecordingPeerConnection);
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
    expect(callStatus()).toHaveTextContent("Waiting for someone to join");
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
    expect(callStatus()).toHaveTextContent("reconnecting");
  });

  it("rejoins after the socket reconnects, and an invitee's Leave goes home", async () => {
    renderCall();
    await screen.findByRole("heading", { name: "Session with Ada" });
    const socket = sockets[0];
    act(() => {
      socket.connected = false;
      socket.push("disconnect", "transport close");
    });
    expect(callStatus()).toHaveTextContent("reconnecting");
    act(() => {
      socket.connected = true;
      socket.id = "sidA2";
      socket.push("connect");
    });
    await waitFor(() => expect(socket.emitted.filter((e) => e.event === "join")).toHaveLength(2));
    await waitFor(() =>
      expect(callStatus()).toHaveTextContent("Waiting for someone to join"),
    );
    await userEvent.click(screen.getByRole("button", { name: "Leave call" }));
    expect(await screen.findByText("home")).toBeInTheDocument();
    // Leaving the page closes the socket: the server removes us and tells the room.
    expect(socket.connected).toBe(false);
  });
});

describe("CallPage tutor voice", () => {
  it("puts the tutor on the stage and talks by voice: state, captions, stop, mute", async () => {
    renderCall();
    await screen.findByRole("heading", { name: "Session with Ada" });
    const socket = sockets[0];
    await waitFor(() => expect(tutorTile()).toHaveAttribute("data-mode", "voice"));
    const offer = socket.emitted.find((e) => e.event === "tutor-offer")!.payload as {
      room_id: string;
      sdp: RTCSessionDescriptionInit;
    };
    expect(offer.room_id).toBe("room-1");
    expect(offer.sdp.type).toBe("offer");
    const tutorPc = pcs.find((pc) => pc.remoteDescription?.sdp === "answer from the replica")!;
    expect(tutorPc.tracks.map((t) => t.kind)).toEqual(["audio"]);
    // Candidates trickle to the replica.
    act(() => tutorPc.gather("candidate:1 1 udp 1 127.0.0.1 5000 typ host"));
    expect(socket.emitted.at(-1)).toMatchObject({ event: "tutor-candidate", payload: { room_id: "room-1" } });

    // Alone with the tutor: it is the main tile, it listens without a button.
    expect(tutorTile()).toHaveClass("tile-main");
    expect(screen.queryByTestId("remote-video")).not.toBeInTheDocument();
    expect(screen.getByTestId("tutor-state")).toHaveTextContent("Listening: just talk");
    expect(screen.queryByRole("button", { name: "Ask Ada" })).not.toBeInTheDocument();

    // Its voice is the received track, played by the tile's element.
    const voiceTrack = { id: "tutor-voice", getAudioTracks: () => [{ kind: "audio" }] } as unknown as MediaStream;
    act(() => tutorPc.ontrack?.({ track: { kind: "audio" }, streams: [voiceTrack] }));
    const tutorAudio = screen.getByTestId("tutor-audio") as HTMLAudioElement;
    expect(tutorAudio.srcObject).toBe(voiceTrack);
    expect(tutorAudio.muted).toBe(false);
    // The speaker toggle silences the live voice too.
    await userEvent.click(screen.getByRole("button", { name: "Turn tutor voice off" }));
    expect(tutorAudio.muted).toBe(true);
    await userEvent.click(screen.getByRole("button", { name: "Turn tutor voice on" }));
    expect(tutorAudio.muted).toBe(false);

    // Live captions of both sides: partial results grow, then the final text.
    const said = (utterance_id: string, text: string, final: boolean, speaker: object) =>
      act(() => socket.push("transcript", { room_id: "room-1", utterance_id, speaker, text, final }));
    said("u1", "what is a", false, { kind: "user", user_id: "me" });
    said("u1", "what is a fraction", true, { kind: "user", user_id: "me" });
    act(() => socket.push("tutor-state", { room_id: "room-1", state: "thinking" }));
    expect(screen.getByTestId("tutor-state")).toHaveTextContent("Thinking…");
    act(() => socket.push("tutor-state", { room_id: "room-1", state: "speaking" }));
    said("a1", "A fraction is", false, { kind: "ai" });
    const captions = screen.getByRole("list", { name: "Live captions" });
    expect(captions).toHaveTextContent("You: what is a fraction");
    expect(captions).toHaveTextContent("Ada: A fraction is");
    expect(screen.getByTestId("tutor-state")).toHaveTextContent("Speaking");

    // Clips of a live reply are for history: nothing plays them now.
    const play = vi.mocked(HTMLMediaElement.prototype.play);
    const before = play.mock.calls.length;
    act(() => socket.push("ai-audio", { reply_id: "r1", seq: 0, url: "/media/0.mp3", text: "A fraction is" }));
    expect(screen.getByTestId("voice")).toHaveAttribute("data-speaking", "no");
    expect(play.mock.calls.length).toBe(before);

    // Stop works while it speaks; the server silences the track and says it listens again.
    await userEvent.click(screen.getByRole("button", { name: "Stop Ada" }));
    expect(socket.emitted.at(-1)).toEqual({ event: "stop", payload: { room_id: "room-1" } });
    act(() => socket.push("tutor-state", { room_id: "room-1", state: "listening" }));
    expect(screen.queryByRole("button", { name: "Stop Ada" })).not.toBeInTheDocument();

    // Muted: the track the tutor hears is off, and the state line says so.
    await userEvent.click(screen.getByRole("button", { name: "Mute" }));
    expect(tutorPc.tracks[0].enabled).toBe(false);
    expect(screen.getByTestId("tutor-state")).toHaveTextContent("You are muted: Ada cannot hear you");
  });

  it("falls back to text when the replica has no room for voice: a notice, and clips play", async () => {
    tutorOffer = () => ({ ok: false, error: { code: "voice_busy", message: "Voice is at capacity." } });
    renderCall();
    await screen.findByRole("heading", { name: "Session with Ada" });
    const socket = sockets[0];
    await waitFor(() => expect(tutorTile()).toHaveAttribute("data-mode", "text"));
    expect(screen.getByTestId("notices")).toHaveTextContent("Voice conversations are full on this server");
    expect(screen.getByTestId("tutor-state")).toHaveTextContent("Type to talk with Ada");
    // The refused connection is closed, not left half-open.
    expect(pcs.filter((pc) => pc.tracks.some((t) => t.kind === "audio") && !pc.closed)).toEqual([]);

    const play = vi.mocked(HTMLMediaElement.prototype.play);
    const before = play.mock.calls.length;
    act(() => socket.push("ai-audio", { reply_id: "r1", seq: 0, url: "/media/0.mp3", text: "Hello there." }));
    await waitFor(() => expect(screen.getByTestId("voice")).toHaveTextContent("Ada is speaking: “Hello there.”"));
    expect(play.mock.calls.length).toBe(before + 1);
    expect(screen.getByTestId("tutor-state")).toHaveTextContent("Speaking");

    await userEvent.click(screen.getByRole("button", { name: "Turn tutor voice off" }));
    expect(localStorage.getItem("holo.speaker")).toBe("off");
    expect(screen.getByTestId("voice")).toHaveAttribute("data-speaking", "no");
    act(() => socket.push("ai-audio", { reply_id: "r2", seq: 0, url: "/media/1.mp3", text: "Again." }));
    expect(screen.getByTestId("voice")).toHaveAttribute("data-speaking", "no");
    expect(screen.getByRole("button", { name: "Turn tutor voice on" })).toBeInTheDocument();

    // Back after a drop, on a replica with room for voice: the notice goes, the tutor is live.
    tutorOffer = () => ({ ok: true, sdp: { type: "answer", sdp: "answer from the replica" } });
    act(() => {
      socket.connected = false;
      socket.push("disconnect", "transport close");
    });
    act(() => {
      socket.connected = true;
      socket.push("connect");
    });
    await waitFor(() => expect(tutorTile()).toHaveAttribute("data-mode", "voice"));
    // The notice is dismissed by an effect of the render that shows voice mode: await it.
    await waitFor(() =>
      expect(screen.getByTestId("notices")).not.toHaveTextContent("Voice conversations are full"),
    );
  });

  it("without a microphone: text mode with a notice, and no tutor peer", async () => {
    Object.defineProperty(navigator, "mediaDevices", {
      value: { getUserMedia: vi.fn().mockRejectedValue(new DOMException("denied", "NotAllowedError")) },
      configurable: true,
    });
    renderCall();
    await screen.findByRole("heading", { name: "Session with Ada" });
    await waitFor(() => expect(tutorTile()).toHaveAttribute("data-mode", "text"));
    expect(screen.getByTestId("notices")).toHaveTextContent("Talking with the tutor needs a microphone");
    expect(sockets[0].emitted.some((e) => e.event === "tutor-offer")).toBe(false);
  });

  it("with a second person: their video on the stage, the tutor beside it, asked by push-to-talk or the toggle", async () => {
    otherPeers = [{ sid: "sidB", user_id: "bea", display_name: "Bea" }];
    renderCall();
    await screen.findByRole("heading", { name: "Session with Ada" });
    const socket = sockets[0];
    await waitFor(() => expect(tutorTile()).toHaveAttribute("data-mode", "voice"));
    expect(screen.getByTestId("remote-video")).toBeInTheDocument();
    expect(tutorTile()).not.toHaveClass("tile-main");
    expect(screen.getByTestId("tutor-state")).toHaveTextContent("Listening when you hold “Ask Ada”");

    const asks = () => socket.emitted.filter((e) => e.event === "tutor-ask").map((e) => e.payload);
    const button = screen.getByRole("button", { name: "Ask Ada" });
    fireEvent.pointerDown(button, { pointerId: 1 });
    expect(button).toHaveAttribute("aria-pressed", "true");
    fireEvent.pointerUp(button, { pointerId: 1 });
    expect(button).toHaveAttribute("aria-pressed", "false");
    // From the keyboard: held Space (auto-repeat does not ask again).
    fireEvent.keyDown(button, { key: " " });
    fireEvent.keyDown(button, { key: " ", repeat: true });
    fireEvent.keyUp(button, { key: " " });
    expect(asks()).toEqual([
      { room_id: "room-1", active: true },
      { room_id: "room-1", active: false },
      { room_id: "room-1", active: true },
      { room_id: "room-1", active: false },
    ]);

    // Typed: only with the Ask toggle is the message marked for the tutor.
    const sentMessages = () =>
      socket.emitted.filter((e) => e.event === "message").map((e) => e.payload as { text: string; to_tutor?: boolean });
    await userEvent.type(screen.getByLabelText("Message"), "Hi Bea{Enter}");
    await userEvent.click(screen.getByRole("checkbox", { name: "Ask Ada" }));
    await userEvent.type(screen.getByLabelText("Message"), "What is a prime?{Enter}");
    expect(sentMessages().map((m) => [m.text, m.to_tutor])).toEqual([
      ["Hi Bea", undefined],
      ["What is a prime?", true],
    ]);

    // Bea leaves: the tutor takes the stage again and needs no button.
    act(() => socket.push("peer-left", otherPeers[0]));
    expect(tutorTile()).toHaveClass("tile-main");
    expect(screen.queryByRole("button", { name: "Ask Ada" })).not.toBeInTheDocument();
    expect(screen.queryByRole("checkbox", { name: "Ask Ada" })).not.toBeInTheDocument();
  });
});
