// Validate prometheus-operator and Gateway API custom resources against their upstream schemas,
// using the validators the @kubernetes-models packages compile from those CRDs.
//
//   node tests/chart/validate_crs.mjs <node_modules dir> < objects.json
//
// stdin: a JSON list of objects. stdout: a JSON list, one entry per object: null when valid,
// else the error message. Unknown kinds get "no validator for <apiVersion> <kind>".
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
const MODELS = {
  "monitoring.coreos.com/v1": ["prometheus-operator", "monitoring.coreos.com/v1"],
  "gateway.networking.k8s.io/v1": ["gateway-api", "gateway.networking.k8s.io/v1"],
};

async function modelFor(apiVersion, kind) {
  const where = MODELS[apiVersion];
  if (!where) return null;
  const file = join(modules, "@kubernetes-models", where[0], where[1], `${kind}.js`);
  try {
    const mod = await import(pathToFileURL(file).href);
    return mod[kind] ?? null;
  } catch {
    return null;
  }
}

const objects = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const obj of objects) {
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) {
    results.push(`no validator for ${obj.apiVersion} ${obj.kind}`);
    continue;
  }
  try {
    new Model(obj).validate();
    results.push(null);
  } catch (err) {
    results.push(String(err && err.message ? err.message : err));
  }
}
process.stdout.write(JSON.stringify(results));
