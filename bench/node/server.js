// The Node baseline for bench/: socket.io with @socket.io/redis-adapter, mimicking the app's
// `join` and `message` events (acks {ok: true, ...} / {ok: false, error}), so that the same
// Python clients drive both servers.
//
//   PORT=8001 REDIS_URL=redis://127.0.0.1:6379/0 NAME=node-0 STORE=1 node server.js
//
// REDIS_URL unset: one process with socket.io's in-memory adapter.
// ADAPTER=sharded: the sharded adapter (createShardedAdapter, SPUBLISH/SSUBSCRIBE, Redis >= 7) in
// its "dynamic" subscription mode, a channel per room: socket.io's answer to room-affine fan-out.
// STORE=1 (default): per message the same Redis work as the app — a membership check (HGET) and
// an atomic append (the app's Lua script: status check, dedupe by client_id, RPUSH, EXPIREs) —
// so the comparison is of the stacks, not of how much each does. STORE=0: relay only.
"use strict";

const http = require("http");
const crypto = require("crypto");
const { Server } = require("socket.io");

const PORT = Number(process.env.PORT || 8001);
const HOST = process.env.HOST || "127.0.0.1";
const REDIS_URL = process.env.REDIS_URL || "";
const NAME = process.env.NAME || `node-${process.pid}`;
const STORE = (process.env.STORE || "1") === "1";
const SHARDED = process.env.ADAPTER === "sharded";
const MAX_TEXT_BYTES = 4 * 1024;
const ROOM_TTL = 2 * 3600;
const MAX_MESSAGES_PER_ROOM = 5000;

const APPEND = `
local status = redis.call('HGET', KEYS[3], 'status')
if status ~= 'active' then return {-1} end
if ARGV[1] ~= '' then
  local seq = redis.call('HGET', KEYS[2], ARGV[1])
  if seq then return {0, tonumber(seq), redis.call('LINDEX', KEYS[1], tonumber(seq) - 1)} end
end
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[4]) then return {-2} end
local seq = redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], seq)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
return {1, seq}
`;

const key = {
  room: (id) => `nodebench:room:${id}`,
  members: (id) => `nodebench:room:${id}:members`,
  messages: (id) => `nodebench:room:${id}:messages`,
  clientIds: (id) => `nodebench:room:${id}:client_ids`,
};

const fail = (code, message) => ({ ok: false, error: { code, message } });
const isStr = (v, max) => typeof v === "string" && v.length > 0 && v.length <= max;

async function main() {
  const httpServer = http.createServer((req, res) => {
    res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "text/plain" });
    res.end(req.url === "/healthz" ? "ok" : "not found");
  });
  const io = new Server(httpServer, {
    pingInterval: 20000,
    pingTimeout: 20000,
    maxHttpBufferSize: 80 * 1024,
  });

  let redis = null;
  let appendSha = "";
  if (REDIS_URL) {
    const { createClient } = require("redis");
    const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
    redis = createClient({ url: REDIS_URL, name: `node:${NAME}` });
    const sub = redis.duplicate({ name: `node:${NAME}:sub` });
    redis.on("error", (e) => console.error("redis", e.message));
    sub.on("error", (e) => console.error("redis sub", e.message));
    await Promise.all([redis.connect(), sub.connect()]);
    io.adapter(
      SHARDED
        ? createShardedAdapter(redis, sub, { subscriptionMode: "dynamic" })
        : createAdapter(redis, sub),
    );
    appendSha = await redis.scriptLoad(APPEND);
  }
  const local = new Map(); // the in-memory store when there is no Redis
  const store = STORE && redis !== null;

  io.use((socket, next) => {
    const token = socket.handshake.auth && socket.handshake.auth.token;
    if (!isStr(token, 4096)) return next(new Error("unauthorized"));
    const userId = "u-" + crypto.createHash("sha1").update(token).digest("hex").slice(0, 16);
    socket.data.user = { user_id: userId, display_name: userId };
    next();
  });

  io.on("connection", (socket) => {
    const user = socket.data.user;
    const me = { sid: socket.id, user_id: user.user_id, display_name: user.display_name };

    socket.on("join", async (p, ack) => {
      if (typeof ack !== "function") return;
      if (!p || !isStr(p.room_id, 64)) return ack(fail("invalid_payload", "room_id"));
      try {
        let peers;
        if (redis) {
          const [, , , all] = await redis
            .multi()
            .hSet(key.room(p.room_id), "status", "active")
            .hSet(key.members(p.room_id), socket.id, JSON.stringify(me))
            .expire(key.members(p.room_id), ROOM_TTL)
            .hGetAll(key.members(p.room_id))
            .exec();
          peers = Object.values(all).map((v) => JSON.parse(v));
        } else {
          const room = local.get(p.room_id) || { members: new Map(), messages: [] };
          room.members.set(socket.id, me);
          local.set(p.room_id, room);
          peers = [...room.members.values()];
        }
        socket.join(p.room_id);
        socket.to(p.room_id).emit("peer-joined", me);
        ack({ ok: true, peers: peers.filter((x) => x.sid !== socket.id), messages: [], you: me });
      } catch (e) {
        ack(fail("unavailable", String(e)));
      }
    });

    socket.on("message", async (p, ack) => {
      if (typeof ack !== "function") return;
      if (!p || !isStr(p.room_id, 64) || !isStr(p.client_id, 64) || typeof p.text !== "string")
        return ack(fail("invalid_payload", "room_id, text, client_id"));
      const text = p.text.trim();
      if (!text || Buffer.byteLength(text) > MAX_TEXT_BYTES)
        return ack(fail("invalid_payload", "text"));
      if (!socket.rooms.has(p.room_id)) return ack(fail("not_joined", "Join the room first."));
      const out = {
        id: crypto.randomUUID(),
        seq: 0,
        room_id: p.room_id,
        sender: { kind: "user", user_id: user.user_id, display_name: user.display_name },
        text,
        ts: Date.now() / 1000,
        client_id: p.client_id,
      };
      try {
        if (store) {
          if ((await redis.hGet(key.members(p.room_id), socket.id)) == null)
            return ack(fail("not_joined", "Join the room first."));
          const r = await redis.evalSha(appendSha, {
            keys: [key.messages(p.room_id), key.clientIds(p.room_id), key.room(p.room_id)],
            arguments: [
              `${user.user_id}:${p.client_id}`,
              JSON.stringify(out),
              String(ROOM_TTL),
              String(MAX_MESSAGES_PER_ROOM),
            ],
          });
          if (r[0] < 0) return ack(fail("room_ended", "This room has ended."));
          out.seq = Number(r[1]);
        } else if (!redis) {
          const room = local.get(p.room_id);
          room.messages.push(out);
          out.seq = room.messages.length;
        }
        socket.to(p.room_id).emit("message", out);
        ack({ ok: true, message: out });
      } catch (e) {
        ack(fail("unavailable", String(e)));
      }
    });

    socket.on("disconnecting", () => {
      for (const room of socket.rooms) {
        if (room === socket.id) continue;
        socket.to(room).emit("peer-left", me);
        if (redis) redis.hDel(key.members(room), socket.id).catch(() => {});
        else if (local.has(room)) local.get(room).members.delete(socket.id);
      }
    });
  });

  httpServer.listen(PORT, HOST, () => {
    console.log(`node socket.io ${NAME} on ${HOST}:${PORT} redis=${REDIS_URL || "none"} store=${store}`);
  });
  const stop = () => io.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
