-- pgbench script: the reference view's three inserts as one transaction, without Python.
-- DESIGN.md: "PostgreSQL alone commits ~6,000-7,000 payment-shaped transactions/s".
BEGIN;
INSERT INTO reference_payment (amount, currency, status, created_at)
  VALUES (1999, 'USD', 'COMPLETED', now()) RETURNING id AS payment_id \gset
INSERT INTO reference_transaction (payment_id, kind, amount, created_at)
  VALUES (:payment_id, 'CHARGE', 1999, now());
INSERT INTO reference_auditrecord (action, resource_id, new_values, created_at)
  VALUES ('payment.create', :payment_id, '{"amount": 1999, "currency": "USD"}', now());
COMMIT;
