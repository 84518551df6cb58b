"""The accounts package."""

from .contracts import (
    change_plan,
    contract_detail,
    create_contract,
    list_contracts,
    page_payments,
    record_payment,
    renew_contract,
    terminate_contract,
)
from .customers import (
    create_customer,
    create_license,
    customer_overview,
    list_licenses,
    page_customers,
    page_licenses,
    search_customers,
)
from .licenses import (
    LicenseUpdate,
    page_license_changes,
    retire_license,
    update_customer,
    update_license,
)
from .lookups import (
    get_contract,
    get_customer,
    get_license,
)
from .premium_services import (
    premium_since,
    record_service,
    request_service,
    service_statuses,
)
from .report_queries import (
    active_contracts,
    case_owner,
    contracts_ending,
    customer_names,
    keys_expiring,
    maintenance_lapsing,
    overdue_cases,
    paid_through,
)
from .standing import (
    standing,
)

__all__ = [
    "LicenseUpdate",
    "active_contracts",
    "case_owner",
    "change_plan",
    "contract_detail",
    "contracts_ending",
    "create_contract",
    "create_customer",
    "create_license",
    "customer_names",
    "customer_overview",
    "get_contract",
    "get_customer",
    "get_license",
    "keys_expiring",
    "list_contracts",
    "list_licenses",
    "maintenance_lapsing",
    "overdue_cases",
    "page_customers",
    "page_license_changes",
    "page_licenses",
    "page_payments",
    "paid_through",
    "premium_since",
    "record_payment",
    "record_service",
    "renew_contract",
    "request_service",
    "retire_license",
    "search_customers",
    "service_statuses",
    "standing",
    "terminate_contract",
    "update_customer",
    "update_license",
]
