// The console's shell: sign-in, navigation, the role it signed in with, and the page for the current address.
import { render } from "preact";
import { signal } from "@preact/signals";
import { useEffect, useState } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { inspectTicket, loadSession, redeemTicket, seedEvents, session, signIn, signOut, startStream, streamState, type TicketInfo } from "./api.ts";
import { ConfirmHost } from "./lib.tsx";
import { Alerts } from "./pages/alerts.tsx";
import { Apps } from "./pages/apps.tsx";
import { Balancers } from "./pages/balancers.tsx";
import { Checks } from "./pages/checks.tsx";
import { Cluster } from "./pages/cluster.tsx";
import { Scaling } from "./pages/scaling.tsx";
import { Tasks } from "./pages/tasks.tsx";
import { Events } from "./pages/events.tsx";
import { Overview } from "./pages/overview.tsx";
import { Policies } from "./pages/policies.tsx";

const PAGES = [
  { path: "/ui/", label: "Overview", view: Overview },
  { path: "/ui/apps", label: "Apps", view: Apps },
  { path: "/ui/checks", label: "Checks", view: Checks },
  { path: "/ui/balancers", label: "Balancers", view: Balancers },
  { path: "/ui/scaling", label: "Scaling", view: Scaling },
  { path: "/ui/alerts", label: "Alerts", view: Alerts },
  { path: "/ui/tasks", label: "Tasks", view: Tasks },
  { path: "/ui/policies", label: "Policies", view: Policies },
  { path: "/ui/cluster", label: "Cluster", view: Cluster },
  { path: "/ui/events", label: "Events", view: Events },
] as const;

const route = signal(location.pathname);
addEventListener("popstate", () => (route.value = location.pathname));
function go(path: string) {
  history.pushState(null, "", path);
  route.value = path;
}

function SignIn() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await signIn(token);
      history.replaceState(null, "", location.pathname);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <main class="signin">
      <form onSubmit={submit} aria-labelledby="h-signin">
        <h1 id="h-signin">Polis console</h1>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="off" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        {error && <p class="problem" role="alert">{error}</p>}
        <button type="submit" class="primary">Sign in</button>
        <p class="muted">The token is exchanged for a session cookie; it is not kept by the browser.</p>
      </form>
    </main>
  );
}

/** Captured once at load: the address bar loses the ticket at once, so it stays in no history entry or screenshot. */
const linkTicket = location.pathname === "/ui/login" ? new URLSearchParams(location.search).get("ticket") : null;
if (location.pathname === "/ui/login") history.replaceState(null, "", "/ui/login");

/** The `polis ui` link: says whom it signs in as and spends the ticket only when the operator confirms. */
function TicketSignIn({ ticket }: { ticket: string | null }) {
  const [info, setInfo] = useState<TicketInfo | undefined>();
  const [error, setError] = useState<string | undefined>(ticket ? undefined : "This sign-in link has no ticket: run `polis ui` again or paste a token.");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (ticket) inspectTicket(ticket).then(setInfo, (e: Error) => setError(`${e.message}: run \`polis ui\` again or paste a token.`));
  }, []);
  const current = session.value;
  const leave = () => go("/ui/");
  const confirm = async () => {
    setBusy(true);
    try {
      await redeemTicket(ticket!);
      leave();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <section class="form" aria-labelledby="h-ticket">
        <h1 id="h-ticket">Polis console</h1>
        {info && (
          <>
            <p>
              This one-time link signs this browser in as <b data-testid="ticket-name">{info.name}</b> with the <b>{info.role}</b> role.
            </p>
            {current && <p class="muted">You are signed in as {current.name} ({current.role}); that session ends here if you continue.</p>}
            <p class="muted">Continue only if you ran <code>polis ui</code> yourself.</p>
            <div class="row">
              <button type="button" class="primary" disabled={busy} onClick={confirm}>Sign in as {info.name}</button>
              <button type="button" onClick={leave}>Cancel</button>
            </div>
          </>
        )}
        {error && <p class="problem" role="alert">{error}</p>}
        {error && <button type="button" onClick={leave}>Go to the console</button>}
      </section>
    </main>
  );
}

function Shell() {
  const s = session.value!;
  useEffect(() => {
    void seedEvents().then(startStream);
  }, []);
  const path = route.value;
  const page = PAGES.find((p) => p.path === path || (p.path !== "/ui/" && path.startsWith(`${p.path}/`))) ?? PAGES[0];
  const View = page.view;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => {
        e.preventDefault();
        document.getElementById("main")?.focus();
      }}>Skip to the page</a>
      <header class="top">
        <strong>Polis</strong>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a
              key={p.path}
              href={p.path}
              aria-current={p === page ? "page" : undefined}
              onClick={(e) => {
                if (e.metaKey || e.ctrlKey || e.shiftKey) return;
                e.preventDefault();
                go(p.path);
              }}
            >
              {p.label}
            </a>
          ))}
        </nav>
        <span class={`stream s-${streamState.value}`} role="status" aria-label={`event stream ${streamState.value}`}>{streamState.value}</span>
        <span class="who" data-testid="role">
          {s.name} · <b>{s.role}</b>
        </span>
        <button type="button" onClick={() => void signOut()}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1}>
        <View />
      </main>
      <ConfirmHost />
    </>
  );
}

function App() {
  useEffect(() => {
    void loadSession();
  }, []);
  if (session.value === undefined) return <p class="boot">Loading the console…</p>;
  if (route.value === "/ui/login") return <TicketSignIn ticket={linkTicket} />;
  return session.value === null ? <SignIn /> : <Shell />;
}

render(<App />, document.getElementById("root")!);
