// Camera and microphone, mute, camera off, and screen sharing. Screen sharing swaps the video
// track that the peer connections send (replaceTrack), so no renegotiation is needed.
import { useCallback, useEffect, useRef, useState } from "react";

export type MediaStatus = "pending" | "ready" | "denied" | "unavailable";

export interface LocalMedia {
  stream: MediaStream | null;
  /** What the local preview shows: the camera, or the screen while sharing. */
  preview: MediaStream | null;
  status: MediaStatus;
  error: string | null;
  muted: boolean;
  cameraOff: boolean;
  sharing: boolean;
  /** The video track peers should receive now (camera or screen). */
  outgoingVideo: MediaStreamTrack | null;
  toggleMute: () => void;
  toggleCamera: () => void;
  startShare: () => Promise<void>;
  stopShare: () => void;
}

/** Camera and microphone, or whichever of the two exists: a learner without a camera can still
 * talk with the tutor. A refusal (NotAllowedError) is final: asking again would not help. */
export async function acquire(
  devices: Pick<MediaDevices, "getUserMedia">,
): Promise<{ stream: MediaStream; missing: "audio" | "video" | null }> {
  try {
    return { stream: await devices.getUserMedia({ audio: true, video: true }), missing: null };
  } catch (err) {
    if ((err as DOMException).name === "NotAllowedError") throw err;
    try {
      return { stream: await devices.getUserMedia({ audio: true }), missing: "video" };
    } catch {
      try {
        return { stream: await devices.getUserMedia({ video: true }), missing: "audio" };
      } catch {
        throw err;
      }
    }
  }
}

export function useLocalMedia(): LocalMedia {
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [screen, setScreen] = useState<MediaStream | null>(null);
  const [status, setStatus] = useState<MediaStatus>("pending");
  const [error, setError] = useState<string | null>(null);
  const [muted, setMuted] = useState(false);
  const [cameraOff, setCameraOff] = useState(false);
  const screenRef = useRef<MediaStream | null>(null);

  useEffect(() => {
    let cancelled = false;
    let acquired: MediaStream | null = null;
    if (!navigator.mediaDevices?.getUserMedia) {
      setStatus("unavailable");
      setError("This browser cannot use a camera here (it needs https or localhost).");
      return;
    }
    acquire(navigator.mediaDevices).then(
      ({ stream: s, missing }) => {
        if (cancelled) {
          s.getTracks().forEach((t) => t.stop());
          return;
        }
        acquired = s;
        setStream(s);
        setStatus("ready");
        if (missing === "video") setError("No camera found: you can still talk and chat.");
        if (missing === "audio") {
          setError("No microphone found: others see you, and you can chat with the tutor.");
        }
      },
      (err: DOMException) => {
        if (cancelled) return;
        setStatus(err.name === "NotAllowedError" ? "denied" : "unavailable");
        setError(
          err.name === "NotAllowedError"
            ? "Camera and microphone are blocked. You can still chat; allow them in the browser to be seen and heard."
            : "No camera or microphone found. You can still chat and watch.",
        );
      },
    );
    return () => {
      cancelled = true;
      acquired?.getTracks().forEach((t) => t.stop());
      screenRef.current?.getTracks().forEach((t) => t.stop());
    };
  }, []);

  const toggleMute = useCallback(() => {
    setMuted((m) => {
      stream?.getAudioTracks().forEach((t) => (t.enabled = m));
      return !m;
    });
  }, [stream]);

  const toggleCamera = useCallback(() => {
    setCameraOff((off) => {
      stream?.getVideoTracks().forEach((t) => (t.enabled = off));
      return !off;
    });
  }, [stream]);

  const stopShare = useCallback(() => {
    screenRef.current?.getTracks().forEach((t) => t.stop());
    screenRef.current = null;
    setScreen(null);
  }, []);

  const startShare = useCallback(async () => {
    if (!navigator.mediaDevices?.getDisplayMedia) {
      setError("This browser cannot share a screen.");
      return;
    }
    try {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      const track = s.getVideoTracks()[0];
      // The browser's own "Stop sharing" button ends the track.
      track?.addEventListener("ended", () => {
        if (screenRef.current === s) stopShare();
      });
      screenRef.current = s;
      setScreen(s);
    } catch (err) {
      if ((err as DOMException).name !== "NotAllowedError") {
        setError("Screen sharing did not start.");
      }
    }
  }, [stopShare]);

  const outgoingVideo = screen?.getVideoTracks()[0] ?? stream?.getVideoTracks()[0] ?? null;

  return {
    stream,
    preview: screen ?? stream,
    status,
    error,
    muted,
    cameraOff,
    sharing: screen !== null,
    outgoingVideo,
    toggleMute,
    toggleCamera,
    startShare,
    stopShare,
  };
}
