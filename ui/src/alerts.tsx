// Alerts (firing and pending, from the rules, grouped by a label) and silences (list, create —
// prefilled from an alert —, edit, expire), over /api/v1/alerts and Alertmanager's /api/v2.

import { useEffect, useState } from "preact/hooks";
import { type Labels, v1, v2 } from "./api";
import { Link, type Loc, navigate, queryString } from "./router";
import { Failure, LabelChips, Loading, usePoll } from "./status";
import { ago, formatDuration, parseDuration } from "./time";

interface RuleAlert {
  labels: Labels;
  annotations: Labels;
  state: "firing" | "pending" | "inactive";
  activeAt: string;
  value: string;
}

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

/** `name="value"`, `name=~"re"`, `name!="v"`, `name!~"re"`. */
export function matcherText(m: Matcher): string {
  const op = (m.isEqual ? "=" : "!") + (m.isRegex ? "~" : m.isEqual ? "" : "=");
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

/** Parses one matcher as written in a silence form; an error message when it is not one. */
export function parseMatcher(s: string): Matcher | string {
  const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/.exec(s);
  if (!m) return `"${s.trim()}" is not a matcher: write name="value", name=~"regex", name!="value" or name!~"regex"`;
  let value = m[3];
  if (value.startsWith('"')) {
    try {
      value = JSON.parse(value) as string;
    } catch {
      return `the value of ${m[1]} is not a properly quoted string`;
    }
  }
  const op = m[2];
  return { name: m[1], value, isRegex: op.endsWith("~"), isEqual: !op.startsWith("!") };
}

export function silenceHref(labels: Labels): string {
  const matchers = Object.keys(labels)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => matcherText({ name: k, value: labels[k], isRegex: false, isEqual: true }));
  return `/silences/new${queryString({ matchers: matchers.join("\n") })}`;
}

export function Alerts({ loc }: { loc: Loc }) {
  const by = loc.query.get("by") ?? "alertname";
  const { value, error } = usePoll(() => v1<{ alerts: RuleAlert[] }>("alerts"), 10_000);
  const [showPending, setShowPending] = useState(true);
  if (error) return <Failure what="alerts" error={error} />;
  if (!value) return <Loading />;
  const alerts = value.alerts.filter((a) => a.state === "firing" || (showPending && a.state === "pending"));
  const groups = new Map<string, RuleAlert[]>();
  for (const a of alerts) {
    const key = a.labels[by] ?? "(none)";
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  const firing = value.alerts.filter((a) => a.state === "firing").length;
  const pending = value.alerts.filter((a) => a.state === "pending").length;
  return (
    <section class="page alerts">
      <h1>Alerts</h1>
      <div class="toolbar">
        <span class="badge bad">{firing} firing</span>
        <span class="badge warn">{pending} pending</span>
        <label class="field">
          Group by
          <input
            value={by}
            size={12}
            onChange={(e) => navigate(`/alerts${queryString({ by: e.currentTarget.value.trim() || undefined })}`, true)}
          />
        </label>
        <label class="field check">
          <input type="checkbox" checked={showPending} onChange={(e) => setShowPending(e.currentTarget.checked)} />
          Show pending
        </label>
      </div>
      {alerts.length === 0 && <p class="hint">No alerts are firing{showPending ? " or pending" : ""}.</p>}
      {[...groups.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, list]) => (
          <div class="card alert-group" data-group={key}>
            <h2>
              {by}="{key}" <span class="muted">{list.length}</span>
            </h2>
            {list.map((a) => (
              <div class={`alert state-${a.state}`}>
                <div class="alert-head">
                  <span class={`badge ${a.state === "firing" ? "bad" : "warn"}`}>{a.state}</span>
                  <LabelChips labels={a.labels} skip={[by]} />
                  <span class="muted" title={a.activeAt}>
                    since {ago(Date.parse(a.activeAt))}
                  </span>
                  <span class="muted">value {a.value}</span>
                  <Link class="button" href={silenceHref(a.labels)}>
                    Silence
                  </Link>
                </div>
                {Object.keys(a.annotations).length > 0 && (
                  <dl class="annotations">
                    {Object.entries(a.annotations).map(([k, v]) => (
                      <>
                        <dt>{k}</dt>
                        <dd>{v}</dd>
                      </>
                    ))}
                  </dl>
                )}
              </div>
            ))}
          </div>
        ))}
    </section>
  );
}

interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  status: { state: "active" | "pending" | "expired" };
}

export function Silences() {
  const { value, error, reload } = usePoll(() => v2<Silence[]>("silences"), 15_000);
  const [failure, setFailure] = useState<string | null>(null);
  if (error) return <Failure what="silences" error={error} />;
  if (!value) return <Loading />;
  const order = { active: 0, pending: 1, expired: 2 };
  const list = [...value].sort(
    (a, b) => order[a.status.state] - order[b.status.state] || b.startsAt.localeCompare(a.startsAt),
  );
  const expire = async (id: string) => {
    try {
      await v2(`silence/${encodeURIComponent(id)}`, { method: "DELETE" });
      setFailure(null);
      reload();
    } catch (e) {
      setFailure(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section class="page silences">
      <h1>Silences</h1>
      <div class="toolbar">
        <Link class="button primary" href="/silences/new">
          New silence
        </Link>
      </div>
      {failure && (
        <div class="error" role="alert">
          {failure}
        </div>
      )}
      {list.length === 0 && <p class="hint">No silences.</p>}
      <div class="card">
      <table class="list">
        <thead>
          <tr>
            <th>State</th>
            <th>Matchers</th>
            <th>Ends</th>
            <th>Created by</th>
            <th>Comment</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.map((s) => (
            <tr class={`silence state-${s.status.state}`} data-id={s.id}>
              <td>
                <span class={`badge ${s.status.state === "active" ? "ok" : ""}`}>{s.status.state}</span>
              </td>
              <td class="mono">{s.matchers.map(matcherText).join(", ")}</td>
              <td title={s.endsAt}>{new Date(s.endsAt).toLocaleString()}</td>
              <td>{s.createdBy}</td>
              <td>{s.comment}</td>
              <td class="actions">
                <Link class="button" href={`/silences/new${queryString({ id: s.id })}`}>
                  {s.status.state === "expired" ? "Recreate" : "Edit"}
                </Link>
                {s.status.state !== "expired" && (
                  <button type="button" class="danger" onClick={() => void expire(s.id)}>
                    Expire
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </section>
  );
}

export function SilenceForm({ loc }: { loc: Loc }) {
  const id = loc.query.get("id");
  const [matchers, setMatchers] = useState(loc.query.get("matchers") ?? "");
  const [duration, setDuration] = useState("2h");
  const [createdBy, setCreatedBy] = useState(() => localStorage.getItem("pharos.silence.author") ?? "");
  const [comment, setComment] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [affected, setAffected] = useState<number | null>(null);
  const [editing, setEditing] = useState<Silence | null>(null);

  // Editing: load the silence. An expired one is recreated as a new silence.
  useEffect(() => {
    if (!id) return;
    v2<Silence>(`silence/${encodeURIComponent(id)}`).then(
      (s) => {
        setEditing(s);
        setMatchers(s.matchers.map(matcherText).join("\n"));
        setCreatedBy(s.createdBy);
        setComment(s.comment);
        const left = Date.parse(s.endsAt) - Math.max(Date.now(), Date.parse(s.startsAt));
        if (s.status.state !== "expired" && left > 0) setDuration(formatDuration(Math.ceil(left / 60_000) * 60_000));
      },
      (e: unknown) => setError(`could not load silence ${id}: ${e instanceof Error ? e.message : String(e)}`),
    );
  }, [id]);

  const parsed = matchers
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map(parseMatcher);
  const problems = parsed.filter((p): p is string => typeof p === "string");
  const valid = parsed.filter((p): p is Matcher => typeof p !== "string");

  // How many current alerts the matchers catch.
  const key = valid.map(matcherText).join(",");
  useEffect(() => {
    if (!valid.length || problems.length) {
      setAffected(null);
      return;
    }
    const t = setTimeout(() => {
      v2<unknown[]>("alerts", { params: { filter: valid.map(matcherText), silenced: "true", inhibited: "true" } }).then(
        (a) => setAffected(a.length),
        () => setAffected(null),
      );
    }, 300);
    return () => clearTimeout(t);
  }, [key, problems.length]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const ms = parseDuration(duration);
    if (problems.length) return setError(problems[0]);
    if (!valid.length) return setError("a silence needs at least one matcher");
    if (!ms) return setError(`"${duration}" is not a duration: write 30m, 2h, 1d…`);
    if (!createdBy.trim()) return setError("say who creates the silence");
    if (!comment.trim()) return setError("a comment is required");
    const keepId = editing && editing.status.state !== "expired" ? editing.id : undefined;
    const startsAt = editing && editing.status.state === "pending" ? editing.startsAt : new Date().toISOString();
    const endsAt = new Date(Math.max(Date.now(), Date.parse(startsAt)) + ms).toISOString();
    try {
      localStorage.setItem("pharos.silence.author", createdBy.trim());
      await v2<{ silenceID: string }>("silences", {
        method: "POST",
        body: JSON.stringify({ id: keepId, matchers: valid, startsAt, endsAt, createdBy: createdBy.trim(), comment }),
      });
      navigate("/silences");
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section class="page silence-form">
      <h1>{editing && editing.status.state !== "expired" ? "Edit silence" : "New silence"}</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label class="block">
          Matchers, one per line
          <textarea
            name="matchers"
            rows={Math.max(3, matchers.split("\n").length + 1)}
            value={matchers}
            spellcheck={false}
            onInput={(e) => setMatchers(e.currentTarget.value)}
          />
        </label>
        {problems.map((p) => (
          <p class="field-error">{p}</p>
        ))}
        {affected !== null && (
          <p class="muted" data-affected={affected}>
            Matches {affected} current alert{affected === 1 ? "" : "s"}.
          </p>
        )}
        <div class="row">
          <label class="block">
            Duration
            <input name="duration" value={duration} size={8} onInput={(e) => setDuration(e.currentTarget.value)} />
          </label>
          <label class="block">
            Created by
            <input name="createdBy" value={createdBy} onInput={(e) => setCreatedBy(e.currentTarget.value)} />
          </label>
        </div>
        <label class="block">
          Comment
          <textarea name="comment" rows={2} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
        </label>
        {error && (
          <div class="error" role="alert">
            {error}
          </div>
        )}
        <div class="row">
          <button type="submit" class="primary">
            {editing && editing.status.state !== "expired" ? "Update" : "Create"}
          </button>
          <Link class="button" href="/silences">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
