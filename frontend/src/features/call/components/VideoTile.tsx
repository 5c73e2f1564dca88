import { useEffect, useRef } from "react";

interface Props {
  stream: MediaStream | null;
  label: string;
  /** Our own preview: always muted (no echo) and mirrored unless it is a screen. */
  local?: boolean;
  mirrored?: boolean;
  placeholder?: string;
  /** Autoplay with sound was refused: the tile plays muted until the learner enables sound. */
  onSoundBlocked?: () => void;
  soundOn?: boolean;
  testId?: string;
}

export function VideoTile({
  stream,
  label,
  local = false,
  mirrored = false,
  placeholder,
  onSoundBlocked,
  soundOn = true,
  testId,
}: Props) {
  const ref = useRef<HTMLVideoElement>(null);

  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    if (video.srcObject !== stream) video.srcObject = stream;
    if (!stream) return;
    video.muted = local || !soundOn;
    video.play().catch((err: DOMException) => {
      if (err.name !== "NotAllowedError" || local) return;
      video.muted = true;
      onSoundBlocked?.();
      void video.play().catch(() => {});
    });
  }, [stream, local, soundOn, onSoundBlocked]);

  return (
    <figure className={`tile${local ? " tile-local" : ""}`} data-testid={testId}>
      {/* A live call has no caption track to offer. */}
      {/* eslint-disable-next-line jsx-a11y/media-has-caption */}
      <video
        ref={ref}
        autoPlay
        playsInline
        muted={local || !soundOn}
        className={mirrored ? "mirrored" : undefined}
        aria-label={label}
      />
      {!stream && placeholder && <div className="tile-placeholder">{placeholder}</div>}
      <figcaption>{label}</figcaption>
    </figure>
  );
}
