-- The empty Records Desk database at revision 7b1d9e2f4c60: what the migrations in
-- alembic/versions make of a new SQLite file. A first start runs this instead.
-- Made by `uv run python -m app.services.empty_database`; do not edit by hand.
BEGIN;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE accounts (
	id INTEGER NOT NULL, 
	owner_id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	balance BIGINT DEFAULT '0' NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	deleted_at DATETIME, 
	version INTEGER DEFAULT '1' NOT NULL, opening_balance BIGINT DEFAULT '0' NOT NULL, 
	CONSTRAINT pk_accounts PRIMARY KEY (id), 
	CONSTRAINT ck_accounts_name_not_empty CHECK (name <> ''), 
	CONSTRAINT ck_accounts_balance_not_negative CHECK (balance >= 0), 
	CONSTRAINT fk_accounts_owner_id_users FOREIGN KEY(owner_id) REFERENCES users (id)
);
CREATE TABLE orders (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	status VARCHAR(20) DEFAULT 'pending' NOT NULL, 
	total BIGINT DEFAULT '0' NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	deleted_at DATETIME, 
	version INTEGER DEFAULT '1' NOT NULL, 
	CONSTRAINT pk_orders PRIMARY KEY (id), 
	CONSTRAINT ck_orders_total_not_negative CHECK (total >= 0), 
	CONSTRAINT fk_orders_user_id_users FOREIGN KEY(user_id) REFERENCES users (id), 
	CONSTRAINT ck_orders_order_status CHECK (status IN ('pending', 'processing', 'shipped', 'delivered', 'cancelled'))
);
CREATE TABLE posts (
	id INTEGER NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	content TEXT DEFAULT '' NOT NULL, 
	author_id INTEGER NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	deleted_at DATETIME, 
	version INTEGER DEFAULT '1' NOT NULL, 
	CONSTRAINT pk_posts PRIMARY KEY (id), 
	CONSTRAINT ck_posts_title_not_empty CHECK (title <> ''), 
	CONSTRAINT fk_posts_author_id_users FOREIGN KEY(author_id) REFERENCES users (id)
);
CREATE TABLE profiles (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	bio TEXT, 
	avatar_url VARCHAR(500), 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	deleted_at DATETIME, 
	version INTEGER DEFAULT '1' NOT NULL, 
	CONSTRAINT pk_profiles PRIMARY KEY (id), 
	CONSTRAINT fk_profiles_user_id_users FOREIGN KEY(user_id) REFERENCES users (id), 
	CONSTRAINT uq_profiles_user_id UNIQUE (user_id)
);
CREATE TABLE order_items (
	id INTEGER NOT NULL, 
	order_id INTEGER NOT NULL, 
	product VARCHAR(200) NOT NULL, 
	quantity INTEGER NOT NULL, 
	unit_price BIGINT NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	deleted_at DATETIME, 
	version INTEGER DEFAULT '1' NOT NULL, 
	CONSTRAINT pk_order_items PRIMARY KEY (id), 
	CONSTRAINT ck_order_items_product_not_empty CHECK (product <> ''), 
	CONSTRAINT ck_order_items_quantity_positive CHECK (quantity > 0), 
	CONSTRAINT ck_order_items_unit_price_not_negative CHECK (unit_price >= 0), 
	CONSTRAINT fk_order_items_order_id_orders FOREIGN KEY(order_id) REFERENCES orders (id)
);
CREATE TABLE transfers (
	id INTEGER NOT NULL, 
	from_account_id INTEGER NOT NULL, 
	to_account_id INTEGER NOT NULL, 
	amount BIGINT NOT NULL, 
	transferred_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	deleted_at DATETIME, 
	version INTEGER DEFAULT '1' NOT NULL, 
	CONSTRAINT pk_transfers PRIMARY KEY (id), 
	CONSTRAINT ck_transfers_amount_positive CHECK (amount > 0), 
	CONSTRAINT ck_transfers_distinct_accounts CHECK (from_account_id <> to_account_id), 
	CONSTRAINT fk_transfers_from_account_id_accounts FOREIGN KEY(from_account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_transfers_to_account_id_accounts FOREIGN KEY(to_account_id) REFERENCES accounts (id)
);
CREATE VIRTUAL TABLE users_fts USING fts5(name, email, content='users', content_rowid='id', tokenize='trigram');
CREATE VIRTUAL TABLE profiles_fts USING fts5(bio, avatar_url, content='profiles', content_rowid='id', tokenize='trigram');
CREATE VIRTUAL TABLE posts_fts USING fts5(title, content, content='posts', content_rowid='id', tokenize='trigram');
CREATE VIRTUAL TABLE orders_fts USING fts5(status, content='orders', content_rowid='id', tokenize='trigram');
CREATE VIRTUAL TABLE order_items_fts USING fts5(product, content='order_items', content_rowid='id', tokenize='trigram');
CREATE VIRTUAL TABLE accounts_fts USING fts5(name, content='accounts', content_rowid='id', tokenize='trigram');
CREATE TABLE "users" (
	id INTEGER NOT NULL, 
	email VARCHAR(255) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	hashed_password VARCHAR(255) NOT NULL, 
	is_active BOOLEAN DEFAULT 1 NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	deleted_at DATETIME, 
	version INTEGER DEFAULT '1' NOT NULL, 
	CONSTRAINT pk_users PRIMARY KEY (id), 
	CONSTRAINT ck_users_email_not_empty CHECK (email <> ''), 
	CONSTRAINT ck_users_name_not_empty CHECK (name <> '')
);
CREATE INDEX ix_accounts_owner_id ON accounts (owner_id);
CREATE INDEX ix_orders_status ON orders (status);
CREATE INDEX ix_orders_user_id ON orders (user_id);
CREATE INDEX ix_posts_author_id ON posts (author_id);
CREATE INDEX ix_order_items_order_id ON order_items (order_id);
CREATE INDEX ix_transfers_from_account_id ON transfers (from_account_id);
CREATE INDEX ix_transfers_to_account_id ON transfers (to_account_id);
CREATE INDEX ix_transfers_transferred_at ON transfers (transferred_at);
CREATE INDEX ix_users_name ON users (name);
CREATE UNIQUE INDEX uq_users_email ON users (lower(email));
CREATE TRIGGER profiles_fts_insert AFTER INSERT ON profiles BEGIN INSERT INTO profiles_fts(rowid, bio, avatar_url) VALUES (new.id, new.bio, new.avatar_url); END;
CREATE TRIGGER profiles_fts_delete AFTER DELETE ON profiles BEGIN INSERT INTO profiles_fts(profiles_fts, rowid, bio, avatar_url) VALUES ('delete', old.id, old.bio, old.avatar_url); END;
CREATE TRIGGER profiles_fts_update AFTER UPDATE OF id, bio, avatar_url ON profiles BEGIN INSERT INTO profiles_fts(profiles_fts, rowid, bio, avatar_url) VALUES ('delete', old.id, old.bio, old.avatar_url); INSERT INTO profiles_fts(rowid, bio, avatar_url) VALUES (new.id, new.bio, new.avatar_url); END;
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN INSERT INTO posts_fts(rowid, title, content) VALUES (new.id, new.title, new.content); END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN INSERT INTO posts_fts(posts_fts, rowid, title, content) VALUES ('delete', old.id, old.title, old.content); END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF id, title, content ON posts BEGIN INSERT INTO posts_fts(posts_fts, rowid, title, content) VALUES ('delete', old.id, old.title, old.content); INSERT INTO posts_fts(rowid, title, content) VALUES (new.id, new.title, new.content); END;
CREATE TRIGGER orders_fts_insert AFTER INSERT ON orders BEGIN INSERT INTO orders_fts(rowid, status) VALUES (new.id, new.status); END;
CREATE TRIGGER orders_fts_delete AFTER DELETE ON orders BEGIN INSERT INTO orders_fts(orders_fts, rowid, status) VALUES ('delete', old.id, old.status); END;
CREATE TRIGGER orders_fts_update AFTER UPDATE OF id, status ON orders BEGIN INSERT INTO orders_fts(orders_fts, rowid, status) VALUES ('delete', old.id, old.status); INSERT INTO orders_fts(rowid, status) VALUES (new.id, new.status); END;
CREATE TRIGGER order_items_fts_insert AFTER INSERT ON order_items BEGIN INSERT INTO order_items_fts(rowid, product) VALUES (new.id, new.product); END;
CREATE TRIGGER order_items_fts_delete AFTER DELETE ON order_items BEGIN INSERT INTO order_items_fts(order_items_fts, rowid, product) VALUES ('delete', old.id, old.product); END;
CREATE TRIGGER order_items_fts_update AFTER UPDATE OF id, product ON order_items BEGIN INSERT INTO order_items_fts(order_items_fts, rowid, product) VALUES ('delete', old.id, old.product); INSERT INTO order_items_fts(rowid, product) VALUES (new.id, new.product); END;
CREATE TRIGGER accounts_fts_insert AFTER INSERT ON accounts BEGIN INSERT INTO accounts_fts(rowid, name) VALUES (new.id, new.name); END;
CREATE TRIGGER accounts_fts_delete AFTER DELETE ON accounts BEGIN INSERT INTO accounts_fts(accounts_fts, rowid, name) VALUES ('delete', old.id, old.name); END;
CREATE TRIGGER accounts_fts_update AFTER UPDATE OF id, name ON accounts BEGIN INSERT INTO accounts_fts(accounts_fts, rowid, name) VALUES ('delete', old.id, old.name); INSERT INTO accounts_fts(rowid, name) VALUES (new.id, new.name); END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN INSERT INTO users_fts(users_fts, rowid, name, email) VALUES ('delete', old.id, old.name, old.email); END;
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN INSERT INTO users_fts(rowid, name, email) VALUES (new.id, new.name, new.email); END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF id, name, email ON users BEGIN INSERT INTO users_fts(users_fts, rowid, name, email) VALUES ('delete', old.id, old.name, old.email); INSERT INTO users_fts(rowid, name, email) VALUES (new.id, new.name, new.email); END;
INSERT INTO alembic_version (version_num) VALUES ('7b1d9e2f4c60');
COMMIT;
