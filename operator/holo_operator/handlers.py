"""kopf wiring: which events reconcile a `TurnServer`, and what gets reported where."""

import logging
import time
from typing import Any

import kopf

from holo_operator import metrics, status
from holo_operator.config import OperatorConfig
from holo_operator.failures import backoff, classify
from holo_operator.kube import KubeClient
from holo_operator.manifests import Owner
from holo_operator.reconcile import reconcile
from holo_operator.redis_projection import FencedError
from holo_operator.runtime import Runtime

GROUP, VERSION, PLURAL = "holotutor.io", "v1alpha1", "turnservers"
# Read at import: kopf fixes a timer's interval when the decorator runs.
CONFIG = OperatorConfig.from_env()
Logger = logging.Logger | logging.LoggerAdapter[Any]


def connection(settings: kopf.OperatorSettings) -> kopf.ConnectionInfo:
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(
        settings=settings
    )
    if info is None:
        raise kopf.LoginError("no service account and no kubeconfig")
    return info


@kopf.on.login()
def login(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo:
    return connection(settings)


@kopf.on.startup()
def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Keep kopf's bookkeeping in annotations so the status holds only what the CRD documents.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{GROUP}/turn-operator"
    # The namespace (or cluster-wide) is fixed and the CRD is known: no need to list and watch
    # namespaces and CRDs, which would need cluster-scoped RBAC for a namespaced operator.
    settings.scanning.disabled = True
    settings.posting.level = logging.INFO  # rotations are worth an event, not only errors
    memo.runtime = Runtime(config=CONFIG, kube=KubeClient.from_connection(connection(settings)))


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    await memo.runtime.close()


# kopf caches probe results for 10 s: this is a coarse view for humans, not a leadership check.
@kopf.on.probe(id="leading_realms")
def leading_realms(memo: kopf.Memo, **_: Any) -> list[str]:
    runtime: Runtime = memo.runtime
    return sorted(realm for realm, lock in runtime.locks.items() if lock.token)


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@kopf.on.resume(GROUP, VERSION, PLURAL)
async def on_change(
    body: kopf.Body,
    meta: kopf.Meta,
    spec: kopf.Spec,
    patch: kopf.Patch,
    memo: kopf.Memo,
    logger: Logger,
    **_: Any,
) -> None:
    await _reconcile(body, meta, spec, patch, memo.runtime, logger)


@kopf.timer(GROUP, VERSION, PLURAL, interval=CONFIG.tick_seconds)
async def tick(
    body: kopf.Body,
    meta: kopf.Meta,
    spec: kopf.Spec,
    patch: kopf.Patch,
    memo: kopf.Memo,
    logger: Logger,
    **_: Any,
) -> None:
    await _reconcile(body, meta, spec, patch, memo.runtime, logger)


async def _reconcile(
    body: kopf.Body,
    meta: kopf.Meta,
    spec: kopf.Spec,
    patch: kopf.Patch,
    runtime: Runtime,
    logger: Logger,
) -> None:
    owner = Owner(name=str(meta["name"]), namespace=str(meta["namespace"]), uid=str(meta["uid"]))
    generation = int(meta.get("generation") or 0)
    previous = dict(body.get("status") or {})
    now = time.time()
    async with runtime.guard(owner.uid):
        try:
            outcome = await reconcile(runtime, owner, dict(spec), now)
        except FencedError:
            # Another instance took over mid-way; it reports from now on.
            _note_role(runtime, str(spec.get("realm")), False, logger)
            return
        except Exception as exc:
            failure = classify(exc)
            patch.status.update(status.for_failure(failure, previous, now, generation))
            kopf.warn(body, reason=failure.reason, message=failure.message)
            if failure.permanent:
                raise kopf.PermanentError(failure.message) from exc
            delay = backoff(runtime.failures.get(owner.uid, 0))
            runtime.failures[owner.uid] = runtime.failures.get(owner.uid, 0) + 1
            raise kopf.TemporaryError(failure.message, delay=delay) from exc
    runtime.failures.pop(owner.uid, None)
    realm = outcome.spec.realm
    _note_role(runtime, realm, outcome.current is not None, logger)
    if outcome.current is None:
        return  # standby: another instance holds the lock for this realm
    metrics.SECRET_AGE.labels(realm=realm).set(max(0.0, now - outcome.current.created_at))
    if outcome.rotated:
        metrics.ROTATIONS.labels(realm=realm).inc()
        kopf.info(body, reason="Rotated", message=f"secret {outcome.current.id} is now current")
    if outcome.reseeded:
        kopf.warn(body, reason="Reseeded", message="Redis had lost secrets; restored from history")
    patch.status.update(status.for_outcome(outcome, previous, now, generation))


def _note_role(runtime: Runtime, realm: str, leading: bool, logger: Logger) -> None:
    """Log only changes of role, so a standby replica does not log every tick."""
    if runtime.roles.get(realm) is not leading:
        runtime.roles[realm] = leading
        if leading:
            logger.info(f"Leading realm {realm}: this instance holds the lock")
        else:
            metrics.forget_realm(realm)
            logger.info(f"Standing by for realm {realm}: another instance holds the lock")
