import { useId, useState } from "react";

export function InviteLink({ url }: { url: string }) {
  const id = useId();
  const [copied, setCopied] = useState<"" | "copied" | "select">("");

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied("copied");
    } catch {
      (document.getElementById(id) as HTMLInputElement | null)?.select();
      setCopied("select");
    }
  };

  return (
    <div className="invite">
      <label htmlFor={id}>Invite link for a second person</label>
      <div className="row">
        <input id={id} readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={() => void copy()}>
          Copy invite link
        </button>
      </div>
      <p className="hint" aria-live="polite">
        {copied === "copied" && "Copied. Send it to the person you want to invite."}
        {copied === "select" && "Press Ctrl+C (⌘C) to copy the selected link."}
      </p>
    </div>
  );
}
