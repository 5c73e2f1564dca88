// Notices from the server (offline tutor, voice off, provider errors, room ended) and our own.
import { useCallback, useEffect, useState } from "react";
import type { AiError, AppSocket, Notice } from "@/shared/api/types";

/** What the list shows: the server's notices and ai-errors, and the app's own (media, ...). */
export interface NoticeText {
  code: string;
  message: string;
  session_id?: string | null;
}

export interface ShownNotice extends NoticeText {
  key: number;
  kind: "info" | "error";
}

let counter = 0;

export function useNotices(socket: AppSocket | null) {
  const [notices, setNotices] = useState<ShownNotice[]>([]);

  const add = useCallback((notice: NoticeText, kind: ShownNotice["kind"] = "info") => {
    setNotices((all) => [
      // One notice per code: a repeated one replaces the old.
      ...all.filter((n) => n.code !== notice.code),
      { ...notice, key: ++counter, kind },
    ]);
  }, []);
  const dismiss = useCallback(
    (key: number) => setNotices((all) => all.filter((n) => n.key !== key)),
    [],
  );

  useEffect(() => {
    if (!socket) return;
    const onNotice = (n: Notice) => add(n, "info");
    const onAiError = (n: AiError) => add(n, "error");
    socket.on("notice", onNotice);
    socket.on("ai-error", onAiError);
    return () => {
      socket.off("notice", onNotice);
      socket.off("ai-error", onAiError);
    };
  }, [socket, add]);

  return { notices, add, dismiss };
}
