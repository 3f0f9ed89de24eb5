// Renders /api/v1/openapi.json as a reference page: every operation with its parameters,
// responses and schemas. Builds the DOM with textContent only (no HTML from the document).
"use strict";

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function resolve(doc, schema) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return { name: name, schema: (doc.components.schemas || {})[name] || {} };
  }
  return { name: null, schema: schema || {} };
}

function describeType(doc, schema, depth) {
  const r = resolve(doc, schema);
  const s = r.schema;
  if (r.name && depth > 1) return r.name;
  if (s.type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) {
    return "array of " + describeType(doc, s.items, depth + 1);
  }
  if (s.oneOf) return s.oneOf.map((x) => describeType(doc, x, depth + 1)).join(" | ");
  if (Array.isArray(s.type)) return s.type.join(" | ");
  return r.name || s.type || "any";
}

function schemaTable(doc, schema, depth) {
  const s = resolve(doc, schema).schema;
  if (!s.properties || depth > 3) return null;
  const table = el("table");
  const head = el("tr");
  ["Field", "Type", "Description"].forEach((h) => head.appendChild(el("th", h)));
  table.appendChild(head);
  Object.keys(s.properties).forEach((name) => {
    const prop = s.properties[name];
    const row = el("tr");
    row.appendChild(el("td", name));
    row.appendChild(el("td", describeType(doc, prop, depth)));
    row.appendChild(el("td", prop.description || ""));
    table.appendChild(row);
  });
  return table;
}

function renderOperation(doc, path, method, op) {
  const card = el("section", null, "card operation");
  card.id = op.operationId || method + path;
  card.appendChild(el("h2", method.toUpperCase() + " " + path));
  if (op.description || op.summary) card.appendChild(el("p", op.description || op.summary));
  if (op.parameters && op.parameters.length) {
    card.appendChild(el("h3", "Parameters"));
    const table = el("table");
    op.parameters.forEach((p) => {
      const row = el("tr");
      row.appendChild(el("td", p.name));
      row.appendChild(el("td", p.in + (p.required ? ", required" : "")));
      row.appendChild(el("td", describeType(doc, p.schema, 1)));
      row.appendChild(el("td", p.description || ""));
      table.appendChild(row);
    });
    card.appendChild(table);
  }
  card.appendChild(el("h3", "Responses"));
  Object.keys(op.responses || {}).forEach((status) => {
    const resp = op.responses[status];
    card.appendChild(el("h4", status + " " + (resp.description || "")));
    Object.keys(resp.content || {}).forEach((type) => {
      const schema = resp.content[type].schema;
      card.appendChild(el("p", type + (schema ? ": " + describeType(doc, schema, 1) : ""), "hint"));
      const table = schema && schemaTable(doc, schema, 1);
      if (table) card.appendChild(table);
    });
  });
  return card;
}

function render(doc) {
  document.getElementById("api-title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("api-description").textContent = doc.info.description || "";
  const ops = document.getElementById("operations");
  Object.keys(doc.paths).forEach((path) => {
    Object.keys(doc.paths[path]).forEach((method) => {
      ops.appendChild(renderOperation(doc, path, method, doc.paths[path][method]));
    });
  });
  document.body.dataset.rendered = "true";
}

document.addEventListener("DOMContentLoaded", () => {
  fetch("/api/v1/openapi.json")
    .then((r) => r.json())
    .then(render)
    .catch((e) => {
      document.getElementById("api-description").textContent = "Could not load the document: " + e;
    });
});
