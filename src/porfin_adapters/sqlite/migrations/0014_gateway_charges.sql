-- Charges created at a payment gateway are found by the gateway's id when it reports on them
-- (Mercado Pago's webhooks carry only its payment id): `provider_ref` is
-- "<provider>:<provider_charge_id>", NULL until the gateway created the charge.

ALTER TABLE charges ADD COLUMN provider_ref TEXT;
CREATE INDEX charges_by_provider_ref ON charges (clinic_id, provider_ref)
    WHERE provider_ref IS NOT NULL;
