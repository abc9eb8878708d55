//! Schema, migrations, SQLite and PostgreSQL backends, the purpose gate, generator, import
