"""django-q2 tasks of the THG sandbox."""

import logging

from . import services
from .errors import SandboxError

logger = logging.getLogger(__name__)


def generate_demo_orders(realm: str, count: int = 3) -> str:
    """Generate ``count`` orders in ``realm`` and post the pending events.

    The demo schedules this every minute. It also posts again the
    ``order.created`` events of orders left unacknowledged for an hour.
    Returns a result line for the task record.
    """
    try:
        account = services.get_account(realm)
    except SandboxError as error:
        logger.warning("THG sandbox realm %s: no demo orders: %s", realm, error)
        return str(error)
    orders = services.generate_orders(account, count)
    deliveries = services.send_pending_events(account)
    resent = services.resend_unacknowledged_orders(account)
    return (
        f"THG sandbox {account}: generated {len(orders)} orders, posted "
        f"{len(deliveries)} pending events and {len(resent)} reminders."
    )
