import type { ShownNotice } from "../hooks/useNotices";

export function NoticeList({
  notices,
  onDismiss,
}: {
  notices: ShownNotice[];
  onDismiss: (key: number) => void;
}) {
  return (
    <div className="notices" aria-live="polite" data-testid="notices">
      {notices.map((n) => (
        <div key={n.key} className={`notice notice-${n.kind}`} role={n.kind === "error" ? "alert" : "status"} data-code={n.code}>
          <span>{n.message}</span>
          <button type="button" className="link" onClick={() => onDismiss(n.key)} aria-label={`Dismiss: ${n.message}`}>
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}
