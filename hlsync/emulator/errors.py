"""The emulator's one exception: an upstream-shaped JSON error response."""

from __future__ import annotations

from typing import Any


class EmulatorError(Exception):
    """Raised anywhere in the emulator; ``app`` renders ``body`` as JSON with ``status``.

    ``body`` is exactly what upstream sends, e.g. ``{"statusCode": 401, "message":
    "Invalid JWT"}``; the constructors below build the documented shapes.
    """

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('message')}")
        self.status = status
        self.body = body

    @classmethod
    def bad_request(cls, message: str = "Bad Request", **extra: Any) -> EmulatorError:
        return cls(400, {"statusCode": 400, "message": message, **extra})

    @classmethod
    def unprocessable(cls, messages: list[str]) -> EmulatorError:
        body = {"statusCode": 422, "message": messages, "error": "Unprocessable Entity"}
        return cls(422, body)

    @classmethod
    def not_found(cls, message: str) -> EmulatorError:
        return cls(404, {"statusCode": 404, "message": message})
