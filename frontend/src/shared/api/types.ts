// The shapes of docs/api.md, as the browser sees them. REST shapes come from the app's
// OpenAPI document (schema.d.ts, generated: `npm run api:types`); the Socket.IO payloads that
// the document does not describe are written here.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type GuestToken = Schemas["GuestToken"];
export type Companion = Schemas["CompanionOut"];
export type Level = Companion["level"];
export type CreatedRoom = Schemas["CreatedRoom"];
export type Peer = Schemas["Peer"];
export type Room = Schemas["Room"];
export type RoomView = Schemas["RoomView"];
export type Sender = Schemas["Sender"];
export type Message = Schemas["Message"];
export type SessionRecord = Schemas["SessionRecord"];
export type Transcript = Schemas["Transcript"];
export type IceServers = Schemas["IceServers"];
export type SessionSummary = Schemas["SessionSummary"];
export type Profile = Schemas["Profile"];
export type ProfileUpdate = Schemas["ProfileUpdate"];
export type Progress = Schemas["Progress"];
export type CompanionProgress = Schemas["CompanionProgress"];
export type SubjectProgress = Schemas["SubjectProgress"];

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
