// The call: video with the other person, chat and voice with the AI tutor.
import { useCallback, useEffect, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import type { Companion, Notice } from "@/shared/api/types";
import { useIdentity } from "@/shared/hooks/useIdentity";
import { useSocket } from "@/shared/hooks/useSocket";
import { rememberedInvite, roomPath } from "@/shared/api/rooms";
import { endRoom, fetchCompanion } from "../api/rooms";
import { useConversation } from "../hooks/useConversation";
import { useIceServers } from "../hooks/useIceServers";
import { useLocalMedia } from "../hooks/useLocalMedia";
import { useNotices } from "../hooks/useNotices";
import { useRoom } from "../hooks/useRoom";
import { useTutorVoice } from "../hooks/useTutorVoice";
import { useWebRTC } from "../hooks/useWebRTC";
import { CallControls } from "./CallControls";
import { ChatPanel } from "./ChatPanel";
import { ConnectionStatus } from "./ConnectionStatus";
import { InviteLink } from "./InviteLink";
import { NoticeList } from "./NoticeList";
import { Participants } from "./Participants";
import { VideoTile } from "./VideoTile";

// Negotiation errors are recovered from (perfect negotiation, ICE restart); keep them visible to
// whoever debugs a call in the browser console.
const reportRtcError = (error: unknown) => console.warn("webrtc:", error);

export function CallPage() {
  const { roomId = "" } = useParams();
  const [search] = useSearchParams();
  const inviteToken = search.get("invite");
  const identity = useIdentity();
  const navigate = useNavigate();

  const media = useLocalMedia();
  const ice = useIceServers();
  // Join once the camera question is settled and we know the ICE servers: the first offer then
  // carries our tracks and the right configuration.
  const ready = media.status !== "pending" && ice.iceServers !== null;
  const { socket, status: socketStatus, error: socketError } = useSocket(ready ? identity.token : null);
  const room = useRoom(socket, roomId, inviteToken);
  const notices = useNotices(socket);
  const conversation = useConversation(socket, roomId, room.joined);
  const voice = useTutorVoice(socket);
  const [videoSoundBlocked, setVideoSoundBlocked] = useState(false);
  const [ended, setEnded] = useState<string | null>(null);
  const [companion, setCompanion] = useState<Companion | null>(null);
  const { add: addNotice } = notices;

  const rtc = useWebRTC({
    socket,
    roomId,
    joinedSid: room.joined?.you.sid ?? null,
    peers: room.peers,
    initialPeerSids: room.joined?.peers.map((p) => p.sid),
    localStream: media.stream,
    outgoingVideo: media.outgoingVideo,
    iceServers: ice.iceServers,
    refreshIceServers: ice.refresh,
    onError: reportRtcError,
  });

  const companionId = room.joined?.room?.companion_id;
  useEffect(() => {
    if (!companionId) return;
    fetchCompanion(companionId).then(setCompanion, () => setCompanion(null));
  }, [companionId]);

  // The tutor answers from its offline fallback when no AI model is configured or reachable:
  // its messages say so in their metadata; tell the learner once.
  const offlineTutor = conversation.messages.some(
    (m) => m.sender.kind === "ai" && m.metadata?.offline === true,
  );
  useEffect(() => {
    if (offlineTutor) {
      addNotice({
        code: "tutor_offline",
        message: "The tutor is in offline practice mode: no AI model is connected right now.",
      });
    }
  }, [offlineTutor, addNotice]);

  useEffect(() => {
    if (media.error) addNotice({ code: "media", message: media.error }, "error");
  }, [media.error, addNotice]);

  useEffect(() => {
    if (!socket) return;
    const onNotice = (n: Notice) => {
      if (n.code === "room_ended") setEnded(n.session_id ?? "");
    };
    socket.on("notice", onNotice);
    return () => {
      socket.off("notice", onNotice);
    };
  }, [socket]);

  const onSoundBlocked = useCallback(() => setVideoSoundBlocked(true), []);
  const enableSound = () => {
    setVideoSoundBlocked(false);
    voice.resume();
  };

  const isOwner = room.joined?.room?.owner_id === identity.user_id;
  const inviteUrl =
    rememberedInvite(roomId) ??
    (inviteToken ? `${window.location.origin}${roomPath(roomId, inviteToken)}` : null);
  const tutorName = companion?.name ?? "your tutor";
  const streaming = conversation.drafts.find((d) => !d.stopped);
  const replying = Boolean(streaming || voice.speaking || voice.queued > 0);

  const stop = () => {
    const replyId = streaming?.reply_id ?? voice.speaking?.reply_id;
    socket?.emit("stop", { room_id: roomId, ...(replyId ? { reply_id: replyId } : {}) });
    voice.stop(replyId);
    conversation.markStopped(replyId);
  };

  const end = async () => {
    if (isOwner) {
      try {
        const session = await endRoom(roomId);
        navigate(`/history/${session.session_id}`);
      } catch (err) {
        addNotice({ code: "end_failed", message: (err as Error).message }, "error");
      }
    } else {
      navigate("/");
    }
  };

  if (room.error && !room.joined && !["timeout", "unavailable", "rate_limited", "internal"].includes(room.error.code)) {
    return (
      <main className="page narrow">
        <h1>We could not open this room</h1>
        <p role="alert">{room.error.message}</p>
        <Link to="/">Choose a tutor</Link>
      </main>
    );
  }
  if (socketStatus === "refused") {
    return (
      <main className="page narrow">
        <h1>Please sign in again</h1>
        <p role="alert">{socketError}</p>
        <Link to="/">Back to the start</Link>
      </main>
    );
  }
  if (ended !== null) {
    return (
      <main className="page narrow">
        <h1>This session has ended</h1>
        <p>
          <Link to={ended ? `/history/${ended}` : "/history"}>See the transcript</Link> or{" "}
          <Link to="/">choose a tutor</Link>.
        </p>
      </main>
    );
  }

  const remote = rtc.remotes.find((r) => r.stream) ?? rtc.remotes[0] ?? null;
  const remotePeer = room.peers.find((p) => p.sid === remote?.sid);
  const me = room.joined?.you.display_name ?? identity.display_name;

  return (
    <main className="call" aria-labelledby="call-title">
      <header className="call-header">
        <div>
          <h1 id="call-title">{companion ? `Session with ${companion.name}` : "Your session"}</h1>
          <ConnectionStatus
            state={room.joined ? rtc.callState : socketStatus === "reconnecting" ? "reconnecting" : "joining"}
          />
          {socketStatus === "reconnecting" && socketError && <p role="alert">{socketError}</p>}
        </div>
        {(videoSoundBlocked || voice.blocked) && (
          <button type="button" className="primary" onClick={enableSound}>
            Enable sound
          </button>
        )}
      </header>

      <div className="call-main">
        <section className="stage" aria-label="Video">
          <VideoTile
            stream={remote?.stream ?? null}
            label={remotePeer ? remotePeer.display_name : "Second participant"}
            placeholder={
              room.peers.length === 0 ? "Nobody else is here yet. Share the invite link." : "Connecting…"
            }
            onSoundBlocked={onSoundBlocked}
            soundOn={!videoSoundBlocked}
            testId="remote-video"
          />
          <VideoTile
            stream={media.preview}
            label={media.sharing ? "Your screen" : "You"}
            local
            mirrored={!media.sharing}
            placeholder={media.status === "pending" ? "Starting your camera…" : "Camera off"}
            testId="local-video"
          />
        </section>

        <CallControls
          muted={media.muted}
          cameraOff={media.cameraOff}
          sharing={media.sharing}
          speakerOn={voice.enabled}
          mediaReady={media.status === "ready"}
          isOwner={isOwner}
          onToggleMute={media.toggleMute}
          onToggleCamera={media.toggleCamera}
          onToggleShare={() => (media.sharing ? media.stopShare() : void media.startShare())}
          onToggleSpeaker={() => voice.setEnabled(!voice.enabled)}
          onEnd={() => void end()}
        />
      </div>

      <div className="side">
        <NoticeList notices={notices.notices} onDismiss={notices.dismiss} />
        <div
          className="voice-status"
          data-testid="voice"
          data-played={voice.played}
          data-speaking={voice.speaking ? "yes" : "no"}
        >
          {voice.speaking ? `${tutorName} is speaking: “${voice.speaking.text}”` : ""}
        </div>
        <ChatPanel
          messages={conversation.messages}
          pending={conversation.pending}
          drafts={conversation.drafts}
          tutorName={tutorName}
          myUserId={identity.user_id}
          canSend={Boolean(room.joined)}
          replying={replying}
          onSend={(t) => void conversation.send(t)}
          onRetry={(m) => void conversation.send(m.text, m.client_id)}
          onStop={stop}
        />
        <Participants me={me} peers={room.peers} companion={companion} />
        {inviteUrl && <InviteLink url={inviteUrl} />}
        <p>
          <Link to="/history">Past sessions</Link>
        </p>
      </div>
    </main>
  );
}
