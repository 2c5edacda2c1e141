-- Generated data for the shop example at its demo baseline (see demo.yml).
-- Sizes scale with the setting preflight.demo_lines (order lines, the biggest table).
-- The rows are consistent by construction, so foreign-key triggers are skipped while
-- loading (as pg_restore's --disable-triggers does); this runs on the demo's own server.
SET session_replication_role = replica;
SELECT set_config('preflight.customers', greatest(current_setting('preflight.demo_lines')::int / 12, 50)::text, false);
SELECT set_config('preflight.orders', greatest(current_setting('preflight.demo_lines')::int / 4, 50)::text, false);

INSERT INTO catalog_category (name, slug)
SELECT 'Category ' || g, 'category-' || g FROM generate_series(1, 24) AS g;

INSERT INTO catalog_tag (name)
SELECT 'tag-' || g FROM generate_series(1, 40) AS g;

INSERT INTO catalog_product (sku, name, price, legacy_code, created_at, category_id, is_active, description)
SELECT 'SKU-' || lpad(g::text, 6, '0'),
       'Product ' || g,
       (1 + (g * 37) % 20000 / 100.0)::numeric(10, 2),
       CASE WHEN g % 3 = 0 THEN 'L' || g ELSE '' END,
       now() - make_interval(mins => g),
       1 + g % 24,
       g % 17 <> 0,
       ''
FROM generate_series(1, 5000) AS g;

INSERT INTO catalog_product_tags (product_id, tag_id)
SELECT g, 1 + g % 40 FROM generate_series(1, 5000) AS g;

INSERT INTO customers_customer (email, name, created_at, phone)
SELECT 'customer' || g || '@example.com', 'Customer ' || g, now() - make_interval(hours => g), ''
FROM generate_series(1, current_setting('preflight.customers')::int) AS g;

INSERT INTO customers_address (customer_id, line1, city, postal_code, country)
SELECT g, g || ' Main Street', 'Springfield', lpad((g % 99999)::text, 5, '0'), 'US'
FROM generate_series(1, current_setting('preflight.customers')::int) AS g;

INSERT INTO orders_order (customer_id, shipping_address_id, status, created_at, notes, total)
SELECT 1 + g % current_setting('preflight.customers')::int,
       1 + g % current_setting('preflight.customers')::int,
       (ARRAY['pending', 'paid', 'shipped', 'cancelled'])[1 + g % 4],
       now() - make_interval(mins => g),
       '',
       0
FROM generate_series(1, current_setting('preflight.orders')::int) AS g;

INSERT INTO orders_orderline (order_id, product_id, quantity, unit_price, discount)
SELECT 1 + g % current_setting('preflight.orders')::int,
       1 + (g * 7) % 5000,
       1 + g % 5,
       (1 + (g % 1000) / 10.0)::numeric(10, 2),
       0
FROM generate_series(1, current_setting('preflight.demo_lines')::int) AS g;

SET session_replication_role = DEFAULT;
ANALYZE;
