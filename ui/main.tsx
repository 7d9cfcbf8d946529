// The console's shell: sign-in, navigation, the role it signed in with, and the page for the current address.
import { render } from "preact";
import { signal } from "@preact/signals";
import { useEffect, useState } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { loadSession, seedEvents, session, signIn, signOut, startStream, streamState } from "./api.ts";
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

const PAGES = [
  { path: "/ui/", label: "Overview", view: Overview },
  { path: "/ui/apps", label: "Apps", view: Apps },
  { path: "/ui/checks", label: "Checks", view: Checks },
  { path: "/ui/balancers", label: "Balancers", view: Balancers },
  { path: "/ui/scaling", label: "Scaling", view: Scaling },
  { path: "/ui/alerts", label: "Alerts", view: Alerts },
  { path: "/ui/tasks", label: "Tasks", view: Tasks },
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
  const [error, setError] = useState<string | undefined>(new URLSearchParams(location.search).get("signin") === "expired" ? "That sign-in link was used or has expired: run `polis ui` again or paste a token." : undefined);
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
      <main>
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
  return session.value === null ? <SignIn /> : <Shell />;
}

render(<App />, document.getElementById("root")!);
