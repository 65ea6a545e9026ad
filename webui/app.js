// Placeholder page: shows the daemon's health and version from the admin API.
async function show(id, path, pick) {
  const el = document.getElementById(id);
  try {
    const res = await fetch(path, {credentials: "same-origin"});
    el.textContent = res.ok ? pick(await res.json()) : "HTTP " + res.status;
  } catch (err) {
    el.textContent = "unreachable";
  }
}
show("health", "/api/health", (j) => j.status);
show("version", "/api/version", (j) => j.version);
