// The shapes of design.md §4–§5, as the browser sees them.

export interface GuestToken {
  token: string;
  user_id: string;
  display_name: string;
  expires_at: number;
}

export type Level = "primary" | "beginner" | "secondary" | "intermediate" | "university" | "advanced";

export interface Companion {
  id: string;
  name: string;
  subject: string;
  level: Level;
  languages: string[];
  tagline: string;
  voice_id: string;
  avatar_url: string;
  color: string;
}

export interface CreatedRoom {
  room_id: string;
  companion_id: string;
  status: string;
  created_at: number;
  expires_at: number;
  invite_token: string;
  invite_url: string;
}

export interface Peer {
  sid: string;
  user_id: string;
  display_name: string;
}

export interface Room {
  room_id: string;
  owner_id: string;
  companion_id: string;
  status: "active" | "ended";
  created_at: number;
  ended_at?: number | null;
  session_id?: string | null;
}

export interface RoomView {
  room: Room;
  peers: Peer[];
  is_owner: boolean;
}

export interface Sender {
  kind: "user" | "ai";
  user_id?: string | null;
  display_name: string;
}

export interface Message {
  id: string;
  seq?: number;
  room_id: string;
  sender: Sender;
  text: string;
  ts: number;
  client_id?: string | null;
  audio_urls?: string[] | null;
  reply_to?: string | null;
  metadata?: Record<string, string | number | boolean> | null;
}

export interface SessionRecord {
  session_id: string;
  room_id: string;
  owner_id: string;
  companion_id: string;
  participants: string[];
  started_at: number;
  ended_at: number;
  duration_seconds: number;
  message_count: number;
  transcript_preview: string;
}

export interface Transcript {
  session_id: string;
  messages: Message[];
}

export interface IceServers {
  ice_servers: RTCIceServer[];
  ttl: number;
  relay_available: boolean;
}

/** Every client event is acknowledged with one of these. */
export type Ack<T = Record<string, never>> =
  | ({ ok: true } & T)
  | { ok: false; error: { code: string; message: string } };

export interface JoinAck {
  peers: Peer[];
  messages: Message[];
  you: Peer;
  room: Room | null;
}

export interface Notice {
  code: string;
  message: string;
  session_id?: string;
  reply_id?: string | null;
}

export interface AiDelta {
  reply_id: string;
  /** The learner message being answered: a reply taken over by another replica after a crash
   * starts again under a new reply_id with the same reply_to, replacing the partial text. */
  reply_to?: string;
  text: string;
}

export interface AiAudio {
  reply_id: string;
  seq: number;
  url: string;
  text: string;
}

export interface AiDone {
  reply_id: string;
  message: Message;
}
