import type { Companion, Peer } from "@/shared/api/types";

interface Props {
  me: string;
  peers: Peer[];
  companion: Companion | null;
}

export function Participants({ me, peers, companion }: Props) {
  // A reconnect can briefly list the same person twice (old and new socket): show people.
  const people = [...new Map(peers.map((p) => [p.user_id, p])).values()];
  return (
    <section aria-labelledby="people-title" className="panel">
      <h2 id="people-title">In this room</h2>
      <ul className="people" data-testid="participants">
        <li>{me} (you)</li>
        {people.map((p) => (
          <li key={p.user_id}>{p.display_name}</li>
        ))}
        {companion && <li>{companion.name} (AI tutor)</li>}
      </ul>
    </section>
  );
}
