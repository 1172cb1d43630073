"""A local HTTP server that speaks the OpenAI chat-completions protocol and replays scripted replies.

Each request to ``POST /v1/chat/completions`` takes the next reply from the
script: an answer (a ``chat.completion`` object) or an HTTP error with an
OpenAI-style error body. A request beyond the script gets HTTP 400, which the
client must not retry, so a test that asks more often than it should fails.
"""
from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any, Dict, List, Optional


def answer(text: str, finish_reason: str = "stop", delay: float = 0.0) -> Dict[str, Any]:
    """A chat completion with ``text``, sent after ``delay`` seconds."""
    return {"kind": "answer", "text": text, "finish_reason": finish_reason, "delay": delay}


def error(status: int, message: str, code: Optional[str] = None,
          headers: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    return {"kind": "error", "status": status, "message": message, "code": code, "headers": headers or {}}


class FakeOpenAIServer:
    """``with FakeOpenAIServer([answer("..."), error(429, "slow down")]) as server: server.base_url``."""

    def __init__(self, replies: List[Dict[str, Any]]):
        self.replies = list(replies)
        self.requests: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: Optional[http.server.ThreadingHTTPServer] = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAIServer":
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with fake._lock:
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    fake.requests.append({"path": self.path, "headers": headers, "body": body})
                    reply = fake.replies.pop(0) if fake.replies else None
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                elif reply is None:
                    self._send(400, {"error": {"message": "fake server: no scripted reply left",
                                               "type": "invalid_request_error"}})
                elif reply["kind"] == "error":
                    self._send(reply["status"], {"error": {"message": reply["message"], "type": "api_error",
                                                           "code": reply["code"]}}, reply["headers"])
                else:
                    time.sleep(reply["delay"])
                    self._send(200, _completion(body, reply))

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

            def log_message(self, format, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()


def _completion(request: Dict[str, Any], reply: Dict[str, Any]) -> Dict[str, Any]:
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
    completion_tokens = len(reply["text"].split())
    return {
        "id": f"chatcmpl-fake{int(time.time() * 1000)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "unknown"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply["text"]},
                     "finish_reason": reply["finish_reason"], "logprobs": None}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
