"""The key page shows the customer its commitment in the transparency log and the monitor
command; before integration it says the key is not logged yet, after it the downloaded license
file carries a proof that verifies offline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from keys import tlog
from licensesvc import transparency
from licensesvc.models import IssuedKey
from licensesvc.platform.context import ServiceContext
from tests.conftest import World
from tests.licensesvc.portal.conftest import Browser


def test_the_key_page_shows_the_commitment_and_the_logged_proof(
    base_admin: Browser, session: Session, analyst: ServiceContext, world: World
) -> None:
    key = session.scalar(select(IssuedKey).where(IssuedKey.license_id == base_admin.license_id))
    assert key is not None
    commitment = transparency.customer_commitment(analyst, world.base_customer)
    before = base_admin.text(f"/keys/{key.serial}")
    assert commitment in before and "not in the transparency log yet" in before
    assert "licensesvc log monitor --state our-log.json --server" in before
    assert transparency.customer_commitment(analyst, world.premium_customer) not in before
    transparency.integrate(analyst)
    after = base_admin.text(f"/keys/{key.serial}")
    assert "is in the public transparency log" in after
    body = base_admin.get(f"/keys/{key.serial}/download/file").get_data(as_text=True)
    license_text, proof = tlog.split_license_file(body)
    rec = transparency.active_log_key(analyst)
    assert rec is not None
    tlog.verify_key_logged(
        tlog.text_key_of(license_text), key.serial, proof, tlog.LogVerifier.from_vkey(rec.vkey)
    )
