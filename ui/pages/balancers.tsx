// Balancers: each balancer's endpoints with health, weight, ejection and drain state; drain and weight actions.
import { api } from "../api.ts";
import { Action, Badge, NotConfigured, Problem, useResource } from "../lib.tsx";
import type { Balancer, BalancerList } from "./types.ts";

/** Past this many endpoints a table is paged, so a balancer with thousands of them renders at once. */
const PAGE = 100;

export function Balancers() {
  const list = useResource<BalancerList>("/v1/balancers", 2000, ["balancer.", "endpoint.", "health."]);
  return (
    <section aria-labelledby="h-balancers">
      <h1 id="h-balancers">Balancers</h1>
      {list.absent || (list.data && list.data.balancers.length === 0) ? <NotConfigured what="A balancer" /> : <Problem error={list.error} />}
      {list.data?.balancers.map((b) => <BalancerCard key={b.name} b={b} reload={list.reload} />)}
    </section>
  );
}

function BalancerCard({ b, reload }: { b: Balancer; reload: () => void }) {
  const shown = b.endpoints.slice(0, PAGE);
  return (
    <article aria-labelledby={`lb-${b.name}`} data-balancer={b.name}>
      <header class="row">
        <h2 id={`lb-${b.name}`}>{b.name}</h2>
        <Badge value={b.listening ? "listening" : "down"} />
        <span class="muted">
          {b.protocol} on {b.listen} · {b.algorithm}
        </span>
      </header>
      {b.problem && <p class="problem">{b.problem}</p>}
      <table>
        <caption class="sr-only">Endpoints of {b.name}</caption>
        <thead>
          <tr><th scope="col">Endpoint</th><th scope="col">Address</th><th scope="col">Health</th><th scope="col">Weight</th><th scope="col">State</th><th scope="col">Source</th><th scope="col"><span class="sr-only">Actions</span></th></tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.id} data-endpoint={e.id}>
              <td>{e.id}</td>
              <td>{e.address}:{e.port}</td>
              <td><Badge value={e.health} /></td>
              <td>{e.weight}</td>
              <td data-testid="endpoint-state">{e.draining ? <Badge value="draining" /> : e.ejected ? <Badge value="ejected" /> : <Badge value="serving" />}</td>
              <td>{e.source}</td>
              <td>
                <Action
                  role="operator"
                  label={`Drain ${e.id} on ${b.name}`}
                  title={`Drain ${e.id}`}
                  detail={`${b.name} stops sending new traffic to ${e.address}:${e.port} and waits for what is in flight.`}
                  run={async () => {
                    await api(`/v1/balancers/${encodeURIComponent(b.name)}/endpoints/${encodeURIComponent(e.id)}/drain`, { method: "POST" });
                    reload();
                  }}
                >
                  Drain
                </Action>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {b.endpoints.length > PAGE && <p class="muted">Showing {PAGE} of {b.endpoints.length} endpoints.</p>}
    </article>
  );
}
