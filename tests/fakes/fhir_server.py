"""A small FHIR R4 server on 127.0.0.1 that plays the hospital platform's FHIR endpoint and,
unlike a plain receiver, enforces what FHIR says about a transaction Bundle: each entry is
validated, a POST with `ifNoneExist` creates the resource only when the search finds none (one
match: the existing resource is used; several: 412 and nothing of the transaction is kept),
and references to an entry's `fullUrl` are rewritten to the resource's real id. It answers with
a transaction-response Bundle, as HAPI FHIR does."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from fhir.resources.R4B import get_fhir_model_class


@dataclass
class FhirStore:
    server: ThreadingHTTPServer
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return list(self.resources.get(kind, {}).values())

    def search(self, kind: str, query: str) -> list[dict[str, Any]]:
        """Only what the hand-off uses: `identifier=system|value`."""
        wanted = parse_qs(query).get("identifier", [""])[0]
        system, _, value = wanted.partition("|")
        return [
            r
            for r in self.of_type(kind)
            if any(
                i.get("system") == system and i.get("value") == value
                for i in r.get("identifier", [])
            )
        ]

    def transaction(self, bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
            return 400, _outcome("not a transaction Bundle")
        with self.lock:
            staged: dict[str, dict[str, dict[str, Any]]] = {}
            resolved: dict[str, str] = {}
            responses = []
            for entry in bundle.get("entry", []):
                resource, request = entry["resource"], entry["request"]
                kind = resource["resourceType"]
                get_fhir_model_class(kind).model_validate(resource)
                if request["method"] != "POST" or request["url"] != kind:
                    return 400, _outcome(f"unsupported request {request}")
                condition = request.get("ifNoneExist")
                matches = self.search(kind, condition) if condition else []
                if len(matches) > 1:
                    return 412, _outcome(f"{len(matches)} matches for {condition}")
                if matches:
                    resolved[entry["fullUrl"]] = f"{kind}/{matches[0]['id']}"
                    responses.append({"response": {"status": "200 OK"}})
                    continue
                new_id = str(next(self.ids))
                stored = _rewrite(resource, resolved) | {"id": new_id}
                staged.setdefault(kind, {})[new_id] = stored
                resolved[entry["fullUrl"]] = f"{kind}/{new_id}"
                responses.append(
                    {"response": {"status": "201 Created", "location": f"{kind}/{new_id}"}}
                )
            for kind, items in staged.items():
                self.resources.setdefault(kind, {}).update(items)
        return 200, {"resourceType": "Bundle", "type": "transaction-response", "entry": responses}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _rewrite(value: Any, resolved: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: (resolved.get(v, v) if k == "reference" else _rewrite(v, resolved))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(v, resolved) for v in value]
    return value


def _outcome(text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
    }


def start() -> FhirStore:
    store: FhirStore

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path.rstrip("/") != "/fhir":
                self._answer(404, _outcome("no such endpoint"))
                return
            try:
                status, body = store.transaction(json.loads(raw))
            except (ValueError, KeyError) as exc:
                status, body = 400, _outcome(str(exc))
            self._answer(status, body)

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    store = FhirStore(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return store
