// The shapes of docs/api.md, as the browser sees them. REST shapes come from the app's
// OpenAPI document (schema.d.ts, generated: `npm run api:types`).
import type { Socket } from "socket.io-client";
import type { components as EventComponents } from "./events";
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

// Socket.IO: the payloads are generated from the server's models (events.d.ts, from
// app/server_events.py and app/realtime/schemas.py by `npm run api:types`); the acks below are
// the only socket shapes written by hand.
type Events = EventComponents["schemas"];

export type Notice = Events["Notice"];
export type AiDelta = Events["AiDelta"];
export type AiAudio = Events["AiAudio"];
export type AiDone = Events["AiDone"];
export type AiError = Events["AiError"];
export type Signal = Events["Offer"] | Events["Answer"];
export type CandidateRelay = Events["CandidateRelay"];
/** Live captions: partial results replace each other under one utterance_id until the final
 * one; the tutor's side comes as each of its sentences starts playing. */
export type TranscriptEvent = Events["Transcript"];
export type Speaker = TranscriptEvent["speaker"];
export type TutorStateEvent = Events["TutorState"];
export type TutorState = TutorStateEvent["state"];

/** The ack payload of the client events that answer with more than `{ok: true}`. */
interface ClientAcks {
  join: JoinAck;
  message: { message: Message };
  "tutor-offer": { sdp: { type: "answer"; sdp: string } };
  "tutor-ask": Record<string, never>;
}

type ServerPayloads = Events["ServerToClientEvents"];
type ClientPayloads = Events["ClientToServerEvents"];

export type ServerToClientEvents = {
  [E in keyof ServerPayloads]: (payload: ServerPayloads[E]) => void;
};

export type ClientToServerEvents = {
  [E in keyof ClientPayloads]: E extends keyof ClientAcks
    ? (payload: ClientPayloads[E], ack: (answer: Ack<ClientAcks[E]>) => void) => void
    : (payload: ClientPayloads[E]) => void;
};

/** The app's one socket type: events and payloads checked at compile time. */
export type AppSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
