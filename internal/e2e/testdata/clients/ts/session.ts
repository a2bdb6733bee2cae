// README.md's curl session through openapi-fetch, typed by the paths that
// openapi-typescript generates from httpapi/openapi.json (schema.d.ts,
// made by the test that compiles and runs this): widgetapi's document is
// what a TypeScript client is written against. It prints one "ok" line a
// step and exits 1 at the first answer that is not the README's.
//
//   node out/session.js BASE_URL ADMIN_EMAIL ADMIN_PASSWORD
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Widget = components["schemas"]["Widget"];

const [base = "", adminEmail = "", adminPassword = ""] = process.argv.slice(2);
if (!base || !adminEmail || !adminPassword) {
  console.error("usage: session BASE_URL ADMIN_EMAIL ADMIN_PASSWORD");
  process.exit(2);
}

// Every request carries a request id, as a default header of the client:
// no operation takes it as a parameter.
const client = createClient<paths>({ baseUrl: base, headers: { "X-Request-ID": "ts-client-session" } });

function expect(step: string, response: Response, status: number, ok: boolean, body?: unknown): void {
  if (response.status !== status || !ok) {
    throw new Error(`${step}: ${response.status}, want ${status}: ${JSON.stringify(body).slice(0, 300)}`);
  }
  console.log("ok", step);
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

// A form body, as the curl session sends most of them, with headers.
const asForm = (headers: Record<string, string> = {}) => ({
  bodySerializer: (body: unknown) => new URLSearchParams(body as Record<string, string>),
  headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
});

async function main(): Promise<void> {
  const reg = await client.POST("/api/v1/auth/register", { body: { email: "alice@example.com", password: "alice-password" } });
  expect("register (JSON)", reg.response, 201, reg.data?.access_token !== undefined &&
    reg.response.headers.get("X-Request-ID") === "ts-client-session", reg.error);
  const login = await client.POST("/api/v1/auth/login", { body: { email: "alice@example.com", password: "alice-password" }, ...asForm() });
  expect("login (form)", login.response, 200, login.data !== undefined, login.error);
  let user = login.data!.access_token;
  const me = await client.GET("/api/v1/auth/user", { headers: bearer(user) });
  expect("current user", me.response, 200, me.data?.email === "alice@example.com" && me.data.admin === false, me.error);
  const alice = me.data!.public_id;

  const adminLogin = await client.POST("/api/v1/auth/login", { body: { email: adminEmail, password: adminPassword } });
  expect("administrator login", adminLogin.response, 200, adminLogin.data !== undefined, adminLogin.error);
  const admin = adminLogin.data!.access_token;

  const created = await client.POST("/api/v1/widgets", {
    body: { name: "my-widget", info_url: "https://www.example.com", deadline: "2099-12-31" }, ...asForm(bearer(admin)),
  });
  expect("create my-widget (form)", created.response, 201,
    created.response.headers.get("Location")?.endsWith("/api/v1/widgets/my-widget") === true, created.error);
  for (let i = 1; i <= 5; i++) {
    const more = await client.POST("/api/v1/widgets", {
      body: { name: `my-widget-${i}`, info_url: `https://www.example.com/${i}`, deadline: `2099-06-0${i}` }, headers: bearer(admin),
    });
    expect(`create my-widget-${i}`, more.response, 201, true, more.error);
  }

  const list = await client.GET("/api/v1/widgets", { params: { query: { page: 1, per_page: 10 } }, headers: bearer(user) });
  expect("list", list.response, 200, list.data?.total_items === 6 && list.data.items.length === 6, list.error);
  const read = await client.GET("/api/v1/widgets/{name}", { params: { path: { name: "my-widget" } }, headers: bearer(user) });
  expect("read my-widget", read.response, 200, read.data?.name === "my-widget", read.error);

  const page1 = await client.GET("/api/v1/widgets", {
    params: { query: { name_prefix: "my-", deadline_after: "2099-01-01", sort: "-deadline", per_page: 5, passed: false } },
    headers: bearer(user),
  });
  const first: Widget | undefined = page1.data?.items[0];
  expect("filtered list, page 1", page1.response, 200,
    page1.data?.items.length === 5 && first?.name === "my-widget" && page1.data.next_cursor !== undefined, page1.error);
  const page2 = await client.GET("/api/v1/widgets", {
    params: { query: { cursor: page1.data!.next_cursor!, per_page: 5 } }, headers: bearer(user),
  });
  expect("the next page by cursor", page2.response, 200,
    page2.data?.items.length === 1 && page2.data.items[0]?.name === "my-widget-1" && page2.data.next_cursor === undefined, page2.error);
  const passed = await client.GET("/api/v1/widgets", { params: { query: { passed: true } }, headers: bearer(user) });
  expect("no widget has passed", passed.response, 200, passed.data?.total_items === 0, passed.error);
  const refused = await client.POST("/api/v1/widgets", {
    body: { name: "nope", info_url: "https://www.example.com", deadline: "2099-12-31" }, headers: bearer(user),
  });
  expect("a user may not create", refused.response, 403, refused.error !== undefined, refused.error);

  const put = await client.PUT("/api/v1/widgets/{name}", {
    params: { path: { name: "my-widget" } }, body: { info_url: "https://www.example.org", deadline: "Dec 31 2099" },
    ...asForm(bearer(admin)),
  });
  expect("PUT", put.response, 200, put.data !== undefined, put.error);
  const tagged = await client.GET("/api/v1/widgets/{name}", { params: { path: { name: "my-widget" } }, headers: bearer(admin) });
  const etag = tagged.response.headers.get("ETag");
  expect("read with its ETag", tagged.response, 200, etag !== null && tagged.data?.info_url === "https://www.example.org", tagged.error);
  const fresh = await client.GET("/api/v1/widgets/{name}", {
    params: { path: { name: "my-widget" }, header: { "If-None-Match": etag! } }, headers: bearer(user),
  });
  expect("revalidate: 304", fresh.response, 304, fresh.data === undefined);
  const patched = await client.PATCH("/api/v1/widgets/{name}", {
    params: { path: { name: "my-widget" }, header: { "If-Match": etag! } }, body: { deadline: "2099-06-30" },
    headers: { ...bearer(admin), "Content-Type": "application/merge-patch+json" },
  });
  expect("PATCH with If-Match", patched.response, 200, patched.data !== undefined, patched.error);
  const stale = await client.PATCH("/api/v1/widgets/{name}", {
    params: { path: { name: "my-widget" }, header: { "If-Match": etag! } }, body: { info_url: "https://www.example.net" },
    headers: bearer(admin),
  });
  expect("PATCH with a stale ETag: 412", stale.response, 412,
    (stale.error as { message?: string } | undefined)?.message === "my-widget has changed since it was read.", stale.error);
  const del = await client.DELETE("/api/v1/widgets/{name}", { params: { path: { name: "my-widget" } }, headers: bearer(admin) });
  expect("delete", del.response, 204, true, del.error);

  const phone = await client.POST("/api/v1/auth/login", {
    body: { email: "alice@example.com", password: "alice-password" }, headers: { "User-Agent": "phone/1.0" },
  });
  expect("login from a phone", phone.response, 200, phone.data !== undefined, phone.error);
  const sessions = await client.GET("/api/v1/auth/sessions", { headers: bearer(user) });
  expect("sessions", sessions.response, 200, sessions.data?.items.length === 3 &&
    sessions.data.items[0]?.user_agent === "phone/1.0" && sessions.data.items.some((s) => s.current), sessions.error);
  const pw = await client.POST("/api/v1/auth/password", {
    body: { current_password: "alice-password", new_password: "alice-password-2" }, headers: bearer(user),
  });
  expect("change the password", pw.response, 200, pw.data !== undefined, pw.error);
  user = pw.data!.access_token;
  const ended = await client.GET("/api/v1/auth/user", { headers: bearer(phone.data!.access_token) });
  expect("the phone's session has ended", ended.response, 401, ended.error !== undefined, ended.error);

  const users = await client.GET("/api/v1/users", { params: { query: { email: "alice", admin: false } }, headers: bearer(admin) });
  expect("users by email and admin=false", users.response, 200,
    users.data?.items.length === 1 && users.data.items[0]?.public_id === alice, users.error);
  const promoted = await client.PATCH("/api/v1/users/{public_id}", {
    params: { path: { public_id: alice } }, body: { admin: true }, headers: bearer(admin),
  });
  expect("promote", promoted.response, 200, promoted.data?.admin === true, promoted.error);
  const events = await client.GET("/api/v1/audit", { params: { query: { target: alice } }, headers: bearer(admin) });
  const actions = events.data?.items.map((e) => e.action) ?? [];
  expect("alice's events by public id", events.response, 200,
    actions.includes("auth.login") && actions.includes("user.updated"), events.error);
  const logins = await client.GET("/api/v1/audit", {
    params: { query: { action: "auth.login", target: "alice@example.com" } }, headers: bearer(admin),
  });
  expect("alice's logins", logins.response, 200, logins.data?.total_items === 2, logins.error);

  const out = await client.POST("/api/v1/auth/logout", { params: { query: { scope: "global" } }, headers: bearer(user) });
  expect("log out everywhere", out.response, 200, out.data !== undefined, out.error);
  const after = await client.GET("/api/v1/auth/user", { headers: bearer(user) });
  expect("refused after logout", after.response, 401, after.error?.message === "Token blacklisted. Please log in again.", after.error);
  const root = await client.GET("/api/v1/auth/user", { headers: bearer(admin) });
  expect("the administrator", root.response, 200, root.data?.admin === true, root.error);
  const gone = await client.DELETE("/api/v1/users/{public_id}", {
    params: { path: { public_id: alice }, query: { transfer_to: root.data!.public_id } }, headers: bearer(admin),
  });
  expect("delete alice", gone.response, 204, true, gone.error);
}

main().catch((err: unknown) => {
  console.error("session:", err instanceof Error ? err.message : err);
  process.exit(1);
});
