"""Fake chat services in their wire formats: Discord and Slack incoming webhooks, the
Telegram Bot API's sendMessage, and a receiver of signed JSON.

Each answers as the real one does: Discord 204 with no body, or 404 {"message": "Unknown
Webhook", "code": 10015} for a deleted webhook and 429 with retry_after; Slack 200 "ok",
or 404 "no_service" / 403 "invalid_token" as plain text; Telegram {"ok": true, "result":
{...}}, or {"ok": false, "error_code": ..., "description": ...} with 401 for a bad token
and 400 "chat not found".
"""

from tests.fakes.server import FakeServer, Reply

DISCORD_PATH = "/api/webhooks/1187654321098765432/sEcReT-DiScOrD-ToKeN_abcdefghijklmnop"
SLACK_PATH = "/services/T0000SLACK/B0000HOOK/sEcReTsLaCkToKeN1234567"
TELEGRAM_TOKEN = "123456789:AAHsEcReT-TeLeGrAm_ToKeN-abcdefghijkl"
TELEGRAM_CHAT = "-1001234567890"
JSON_PATH = "/hooks/tcg"

DISCORD_UNKNOWN = Reply(status=404, json={"message": "Unknown Webhook", "code": 10015})
DISCORD_RATE_LIMITED = Reply(
    status=429,
    json={"message": "You are being rate limited.", "retry_after": 42.5, "global": False},
    headers={"Retry-After": "43"},
)
SLACK_NO_SERVICE = Reply(status=404, body="no_service", headers={"Content-Type": "text/plain"})
TELEGRAM_TOO_MANY = Reply(
    status=429,
    json={
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 120",
        "parameters": {"retry_after": 120},
    },
)
SERVER_ERROR = Reply(status=502, body="<html>Bad Gateway</html>")


def serve_discord(server: FakeServer) -> str:
    """The webhook's URL."""
    server.route("POST", DISCORD_PATH, lambda request: Reply(status=204))
    return server.url + DISCORD_PATH


def serve_slack(server: FakeServer) -> str:
    server.route(
        "POST",
        SLACK_PATH,
        lambda request: Reply(body="ok", headers={"Content-Type": "text/html"}),
    )
    return server.url + SLACK_PATH


def serve_telegram(server: FakeServer, chat_id: str = TELEGRAM_CHAT) -> str:
    """The Bot API's base URL (TELEGRAM_API_URL)."""

    def send_message(request):
        sent = request.json
        if str(sent.get("chat_id")) != chat_id:
            return Reply(
                status=400,
                json={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
            )
        return Reply(
            json={
                "ok": True,
                "result": {
                    "message_id": len(server.requests),
                    "chat": {"id": int(chat_id), "type": "supergroup"},
                    "date": 1764547200,
                    "text": sent.get("text", ""),
                },
            }
        )

    server.route("POST", f"/bot{TELEGRAM_TOKEN}/sendMessage", send_message)
    return server.url


def serve_json(server: FakeServer) -> str:
    server.route("POST", JSON_PATH, lambda request: Reply(json={"received": True}))
    return server.url + JSON_PATH


def telegram_unauthorized() -> Reply:
    return Reply(status=401, json={"ok": False, "error_code": 401, "description": "Unauthorized"})
