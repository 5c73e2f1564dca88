"""A minimal Kubernetes API server stand-in on loopback, for running kopf for real.

It is not a Kubernetes: no controllers, no defaulting, no field ownership. It serves what the
operator and kopf use: discovery, list, watch (with resourceVersion), get, create, replace,
merge-patch, server-side apply (as an upsert), delete, and the status subresource. Every object
written is checked by a validator first and refused with 422 if invalid, like a real API server
would, so the test can prove that what the operator sends would be accepted.
"""

import asyncio
import contextlib
import copy
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Obj = dict[str, Any]
Validator = Callable[[Obj], None]


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    status: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


BUILTINS = [
    ResourceType("", "v1", "configmaps", "ConfigMap"),
    ResourceType("", "v1", "secrets", "Secret"),
    ResourceType("", "v1", "services", "Service", status=True),
    ResourceType("", "v1", "events", "Event"),
    # kopf waits for these two before serving anything: it watches namespaces and CRDs.
    ResourceType("", "v1", "namespaces", "Namespace", namespaced=False, status=True),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        status=True,
    ),
    ResourceType("apps", "v1", "deployments", "Deployment", status=True),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", status=True),
]


@dataclass
class Rejection:
    kind: str
    name: str
    error: str


@dataclass
class KubeApiStandin:
    validator: Validator
    # Like a real server, refuse requests without this bearer token (401).
    token: str = "standin-token"
    types: list[ResourceType] = field(default_factory=lambda: list(BUILTINS))
    objects: dict[tuple[str, str, str, str], Obj] = field(default_factory=dict)
    # (resourceVersion, resource type plural key, event type, object)
    events: list[tuple[int, tuple[str, str], str, Obj]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    accepted: list[Obj] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    rv: int = 1
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def add_custom_resource(self, crd: Obj) -> None:
        """Serve a CRD's resource, as if `kubectl apply` had installed it."""
        await self.put_object(crd)
        spec = crd["spec"]
        for version in spec["versions"]:
            self.types.append(
                ResourceType(
                    spec["group"],
                    version["name"],
                    spec["names"]["plural"],
                    spec["names"]["kind"],
                    namespaced=spec["scope"] == "Namespaced",
                    status="status" in (version.get("subresources") or {}),
                )
            )

    # ---- direct access for tests (same rules as over HTTP) ----

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        rt = self._by_kind(kind)
        obj = self.objects.get((rt.group, rt.plural, namespace, name))
        return copy.deepcopy(obj) if obj else None

    def list(self, kind: str) -> list[Obj]:
        rt = self._by_kind(kind)
        return [
            copy.deepcopy(o)
            for (g, p, _, _), o in self.objects.items()
            if (g, p) == (rt.group, rt.plural)
        ]

    async def add_namespace(self, name: str) -> None:
        await self.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    async def put_object(self, obj: Obj) -> Obj:
        """Create or replace as a client would (validated)."""
        rt = self._by_kind(obj["kind"])
        ns, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        existing = self.objects.get((rt.group, rt.plural, ns, name))
        self._validate(obj)
        merged = copy.deepcopy(obj)
        if existing:
            merged["metadata"] = {**existing["metadata"], **merged["metadata"]}
            if rt.status and "status" in existing and "status" not in obj:
                merged["status"] = existing["status"]
        return await self._store(rt, merged, existing)

    async def set_status(self, kind: str, namespace: str, name: str, status: Obj) -> Obj:
        """What a controller (kubelet, cloud) would report; e.g. readyReplicas."""
        rt = self._by_kind(kind)
        existing = self.objects[(rt.group, rt.plural, namespace, name)]
        return await self._store(rt, {**copy.deepcopy(existing), "status": status}, existing)

    # ---- server ----

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        async with self.changed:
            self.changed.notify_all()
        if self._runner:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/")
        self.requests.append((request.method, request.path_qs))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _status(401, "Unauthorized", "Unauthorized")
        if path == "/version":
            return web.json_response({"major": "1", "minor": "30", "gitVersion": "v1.30.0"})
        if path == "/api":
            return web.json_response({"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return web.json_response(self._groups())
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return _status(404, "NotFound", f"no route {path}")
        if not rest:
            return web.json_response(self._resource_list(group, version))
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        rt = self._find(group, version, rest[0])
        if rt is None:
            return _status(404, "NotFound", f"no resource {path}")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        try:
            return await self._handle(request, rt, namespace, name, sub)
        except _ApiError as err:
            return _status(err.code, err.reason, err.message)

    async def _handle(
        self, request: web.Request, rt: ResourceType, ns: str, name: str | None, sub: str | None
    ) -> web.StreamResponse:
        key = (rt.group, rt.plural, ns, name or "")
        method = request.method
        if name is None:
            if method == "GET" and request.query.get("watch") in ("true", "1"):
                return await self._watch(request, rt, ns)
            if method == "GET":
                return web.json_response(self._list(rt, ns))
            if method == "POST":
                body = await request.json()
                # The URL names the type; real servers accept bodies without these (kopf's events).
                body.setdefault("apiVersion", rt.api_version)
                body.setdefault("kind", rt.kind)
                body.setdefault("metadata", {}).setdefault("namespace", ns)
                if "name" not in body["metadata"] and "generateName" in body["metadata"]:
                    body["metadata"]["name"] = (
                        body["metadata"]["generateName"] + uuid.uuid4().hex[:5]
                    )
                k = (rt.group, rt.plural, ns, body["metadata"]["name"])
                if k in self.objects:
                    raise _ApiError(409, "AlreadyExists", f"{rt.plural} {k[3]} already exists")
                self._validate(body)
                return web.json_response(await self._store(rt, body, None), status=201)
            raise _ApiError(405, "MethodNotAllowed", method)
        existing = self.objects.get(key)
        if method == "GET":
            if existing is None:
                raise _ApiError(404, "NotFound", f"{rt.plural} {name} not found")
            return web.json_response(existing)
        if method == "DELETE":
            if existing is None:
                raise _ApiError(404, "NotFound", f"{rt.plural} {name} not found")
            del self.objects[key]
            await self._emit(rt, "DELETED", existing)
            return web.json_response(existing)
        if method == "PUT":
            if existing is None:
                raise _ApiError(404, "NotFound", f"{rt.plural} {name} not found")
            body = await request.json()
            wanted = body.get("metadata", {}).get("resourceVersion")
            if wanted and wanted != existing["metadata"]["resourceVersion"]:
                raise _ApiError(409, "Conflict", "the object has been modified")
            self._validate(body)
            merged = {**body, "metadata": {**existing["metadata"], **body["metadata"]}}
            if rt.status and sub != "status":
                merged["status"] = existing.get("status", {})
            return web.json_response(await self._store(rt, merged, existing))
        if method == "PATCH":
            ctype = request.content_type
            if ctype == "application/apply-patch+yaml":
                body = json.loads(await request.text())
                self._validate(body)
                if existing is None:
                    body["metadata"].setdefault("namespace", ns)
                    return web.json_response(await self._store(rt, body, None), status=201)
                merged = copy.deepcopy(body)
                merged["metadata"] = {**existing["metadata"], **body["metadata"]}
                if "status" in existing:
                    merged["status"] = existing["status"]
                return web.json_response(await self._store(rt, merged, existing))
            if existing is None:
                raise _ApiError(404, "NotFound", f"{rt.plural} {name} not found")
            if ctype == "application/json-patch+json":
                merged = _json_patch(copy.deepcopy(existing), await request.json())
            elif ctype == "application/merge-patch+json":
                merged = _merge_patch(copy.deepcopy(existing), await request.json())
            else:
                raise _ApiError(415, "UnsupportedMediaType", ctype)
            # The status subresource changes only status; the main resource never changes it.
            if sub == "status":
                merged = {**existing, "status": merged.get("status", {})}
            elif rt.status:
                merged = {k: v for k, v in merged.items() if k != "status"}
                if "status" in existing:
                    merged["status"] = existing["status"]
            self._validate(merged)
            return web.json_response(await self._store(rt, merged, existing))
        raise _ApiError(405, "MethodNotAllowed", method)

    def _validate(self, obj: Obj) -> None:
        try:
            self.validator(obj)
        except Exception as exc:
            meta = obj.get("metadata", {})
            self.rejections.append(Rejection(obj.get("kind", "?"), meta.get("name", "?"), str(exc)))
            raise _ApiError(422, "Invalid", str(exc)) from exc

    async def _store(self, rt: ResourceType, obj: Obj, existing: Obj | None) -> Obj:
        obj = copy.deepcopy(obj)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        meta = obj["metadata"]
        if existing is not None:
            comparable = {**obj, "metadata": {**meta, "resourceVersion": None}}
            current = {**existing, "metadata": {**existing["metadata"], "resourceVersion": None}}
            if comparable == current:
                return copy.deepcopy(existing)  # a no-op write changes nothing, as in Kubernetes
            generation = existing["metadata"].get("generation", 1)
            if obj.get("spec") != existing.get("spec"):
                generation += 1
            meta["generation"] = generation
        else:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            meta["generation"] = 1
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        self.objects[(rt.group, rt.plural, meta.get("namespace", ""), meta["name"])] = obj
        self.accepted.append(copy.deepcopy(obj))
        await self._emit(rt, "ADDED" if existing is None else "MODIFIED", obj)
        return copy.deepcopy(obj)

    async def _emit(self, rt: ResourceType, kind: str, obj: Obj) -> None:
        self.rv += 1 if kind == "DELETED" else 0
        self.events.append((self.rv, (rt.group, rt.plural), kind, copy.deepcopy(obj)))
        async with self.changed:
            self.changed.notify_all()

    def _list(self, rt: ResourceType, ns: str) -> Obj:
        items = [
            o
            for (g, p, n, _), o in self.objects.items()
            if (g, p) == (rt.group, rt.plural) and (not ns or n == ns)
        ]
        return {
            "apiVersion": rt.api_version,
            "kind": f"{rt.kind}List",
            "metadata": {"resourceVersion": str(self.rv)},
            "items": items,
        }

    async def _watch(self, request: web.Request, rt: ResourceType, ns: str) -> web.StreamResponse:
        since = int(request.query.get("resourceVersion") or self.rv)
        timeout = float(request.query.get("timeoutSeconds") or 60)
        deadline = time.monotonic() + timeout
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        sent = since
        try:
            while time.monotonic() < deadline:
                snapshot = list(self.events)
                for rv, key, kind, obj in snapshot:
                    if rv <= sent or key != (rt.group, rt.plural):
                        continue
                    if ns and obj["metadata"].get("namespace") != ns:
                        continue
                    line = json.dumps({"type": kind, "object": obj}) + "\n"
                    await response.write(line.encode())
                if snapshot:
                    sent = max(sent, snapshot[-1][0])
                async with self.changed:
                    # Checked under the condition's lock: an event appended since the snapshot
                    # is seen here instead of being missed until the next wake-up.
                    if not self.events or self.events[-1][0] <= sent:
                        remaining = max(0.01, deadline - time.monotonic())
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self.changed.wait(), timeout=min(remaining, 1.0))
                if request.transport is None or request.transport.is_closing():
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    def _groups(self) -> Obj:
        groups: dict[str, list[str]] = {}
        for rt in self.types:
            if rt.group and rt.version not in groups.setdefault(rt.group, []):
                groups[rt.group].append(rt.version)
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": g,
                    "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                    "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
                }
                for g, vs in groups.items()
            ],
        }

    def _resource_list(self, group: str, version: str) -> Obj:
        resources = []
        for rt in self.types:
            if (rt.group, rt.version) != (group, version):
                continue
            verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
            resources.append(
                {
                    "name": rt.plural,
                    "singularName": rt.kind.lower(),
                    "namespaced": rt.namespaced,
                    "kind": rt.kind,
                    "verbs": verbs,
                }
            )
            if rt.status:
                resources.append(
                    {
                        "name": f"{rt.plural}/status",
                        "singularName": "",
                        "namespaced": rt.namespaced,
                        "kind": rt.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    def _find(self, group: str, version: str, plural: str) -> ResourceType | None:
        for rt in self.types:
            if (rt.group, rt.version, rt.plural) == (group, version, plural):
                return rt
        return None

    def _by_kind(self, kind: str) -> ResourceType:
        for rt in self.types:
            if rt.kind == kind:
                return rt
        raise KeyError(kind)


class _ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }
    return web.json_response(body, status=code)


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge_patch(target.get(key), value)
    return target


def _json_patch(doc: Any, ops: list[Obj]) -> Any:
    """RFC 6902 JSON patch: add, remove, replace, test (what kopf sends)."""
    for op in ops:
        *parents, last = [
            p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]
        ]
        target = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        if op["op"] == "test":
            actual = target[int(last)] if isinstance(target, list) else target.get(last)
            if actual != op["value"]:
                raise _ApiError(422, "Invalid", f"test failed at {op['path']}")
        elif op["op"] in ("add", "replace"):
            if isinstance(target, list):
                if last == "-":
                    target.append(op["value"])
                elif op["op"] == "add":
                    target.insert(int(last), op["value"])
                else:
                    target[int(last)] = op["value"]
            else:
                target[last] = op["value"]
        elif op["op"] == "remove":
            if isinstance(target, list):
                del target[int(last)]
            else:
                target.pop(last, None)
        else:
            raise _ApiError(422, "Invalid", f"unsupported op {op['op']}")
    return doc
