// The Pharos web UI: one page application served by `pharos server` at `/`.

import { render } from "preact";
import { useEffect } from "preact/hooks";
import { Alerts, SilenceForm, Silences } from "./alerts";
import { DashboardList, DashboardView } from "./dashboards";
import { Explore } from "./explore";
import { Link, type Loc, navigate, useLocation } from "./router";
import { Rules, Targets, Tsdb } from "./status";
import "./style.css";

const NAV: [string, string][] = [
  ["/dashboards", "Dashboards"],
  ["/graph", "Explore"],
  ["/alerts", "Alerts"],
  ["/silences", "Silences"],
  ["/rules", "Rules"],
  ["/targets", "Targets"],
  ["/tsdb-status", "TSDB"],
];

function Page({ loc }: { loc: Loc }) {
  const p = loc.path;
  if (p === "/dashboards") return <DashboardList />;
  const board = /^\/dashboards\/([A-Za-z0-9_-]+)$/.exec(p);
  if (board) return <DashboardView loc={loc} uid={board[1]} />;
  if (p === "/graph") return <Explore loc={loc} />;
  if (p === "/alerts") return <Alerts loc={loc} />;
  if (p === "/silences") return <Silences />;
  if (p === "/silences/new") return <SilenceForm loc={loc} />;
  if (p === "/rules") return <Rules />;
  if (p === "/targets") return <Targets />;
  if (p === "/tsdb-status") return <Tsdb />;
  return (
    <section class="page">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{p}</code>. <Link href="/">Home</Link>
      </p>
    </section>
  );
}

function App() {
  const loc = useLocation();
  useEffect(() => {
    if (loc.path === "/") navigate("/dashboards/overview", true);
  }, [loc.path]);
  const section = "/" + (loc.path.split("/")[1] ?? "");
  return (
    <>
      <header class="top">
        <Link href="/" class="brand">
          Pharos
        </Link>
        <nav>
          {NAV.map(([href, label]) => (
            <Link href={href} class={section === href ? "active" : undefined}>
              {label}
            </Link>
          ))}
        </nav>
      </header>
      <main>{loc.path === "/" ? null : <Page loc={loc} />}</main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
