"""An offline stand-in for the scheduler's public booking page, served in demo mode at /demo-booking/{page_slug}."""

from core.demo_booking.booking import DEMO_BOOKING_PATH, demo_booking_url, find_demo_page, page_slug_of
from core.demo_booking.routes import demo_booking_routes

__all__ = ["DEMO_BOOKING_PATH", "demo_booking_routes", "demo_booking_url", "find_demo_page", "page_slug_of"]
