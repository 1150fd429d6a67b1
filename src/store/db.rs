//! The little SQL the store needs, on either engine: parameters ([`P`]), rows read whole
//! ([`Row`]), and one statement text for both — written for SQLite (`?1` placeholders, `rowid`
//! for insertion order) and translated for PostgreSQL (`$1`, a `seq` column) by [`pg_sql`].

use super::{Result, StoreError};

/// One statement parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum P<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl From<i64> for P<'_> {
    fn from(v: i64) -> Self {
        P::Int(v)
    }
}

impl<'a> From<&'a str> for P<'a> {
    fn from(v: &'a str) -> Self {
        P::Text(v)
    }
}

impl<'a> From<&'a String> for P<'a> {
    fn from(v: &'a String) -> Self {
        P::Text(v)
    }
}

impl<'a> From<&'a [u8]> for P<'a> {
    fn from(v: &'a [u8]) -> Self {
        P::Blob(v)
    }
}

impl<'a> From<&'a Vec<u8>> for P<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        P::Blob(v)
    }
}

impl<'a, T: Into<P<'a>>> From<Option<T>> for P<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(P::Null, Into::into)
    }
}

/// `p![a, b]`: a parameter list.
macro_rules! p {
    ($($x:expr),* $(,)?) => { &[$($crate::store::db::P::from($x)),*][..] };
}
pub(crate) use p;

impl rusqlite::ToSql for P<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            P::Null => ValueRef::Null,
            P::Int(v) => ValueRef::Integer(v),
            P::Text(v) => ValueRef::Text(v.as_bytes()),
            P::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

impl postgres::types::ToSql for P<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use postgres::types::Type;
        let fits = match *self {
            P::Null => true,
            P::Int(_) => *ty == Type::INT8 || *ty == Type::INT4,
            P::Text(_) => <&str as postgres::types::ToSql>::accepts(ty),
            P::Blob(_) => *ty == Type::BYTEA,
        };
        if !fits {
            let kind = match self {
                P::Null => "null",
                P::Int(_) => "integer",
                P::Text(_) => "text",
                P::Blob(_) => "bytes",
            };
            return Err(format!("a {kind} parameter for a column of type {ty}").into());
        }
        match *self {
            P::Null => Ok(postgres::types::IsNull::Yes),
            P::Int(v) if *ty == Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
            P::Int(v) => v.to_sql(ty, out),
            P::Text(v) => v.to_sql(ty, out),
            P::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        // Which types a parameter fits depends on its value: `to_sql` checks.
        true
    }

    postgres::types::to_sql_checked!();
}

/// One column's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// One result row, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Row(pub(crate) Vec<Cell>);

fn wrong(i: usize, want: &str, got: &Cell) -> StoreError {
    StoreError::Corrupt(format!("column {i}: expected {want}, found {got:?}"))
}

impl Row {
    fn cell(&self, i: usize) -> Result<&Cell> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("no column {i}")))
    }

    pub(crate) fn int(&self, i: usize) -> Result<i64> {
        match self.cell(i)? {
            Cell::Int(v) => Ok(*v),
            other => Err(wrong(i, "an integer", other)),
        }
    }

    pub(crate) fn text(&self, i: usize) -> Result<String> {
        match self.cell(i)? {
            Cell::Text(v) => Ok(v.clone()),
            other => Err(wrong(i, "text", other)),
        }
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub(crate) fn blob(&self, i: usize) -> Result<Vec<u8>> {
        match self.cell(i)? {
            Cell::Blob(v) => Ok(v.clone()),
            // SQLite keeps what it was given; a spec stored as text reads back as text.
            Cell::Text(v) => Ok(v.clone().into_bytes()),
            other => Err(wrong(i, "bytes", other)),
        }
    }

    /// A row from SQLite.
    pub(crate) fn from_sqlite(r: &rusqlite::Row<'_>, columns: usize) -> rusqlite::Result<Row> {
        use rusqlite::types::ValueRef;
        let mut cells = Vec::with_capacity(columns);
        for i in 0..columns {
            cells.push(match r.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Int(v),
                // No column holds a float; one would be a damaged store.
                ValueRef::Real(v) => Cell::Text(v.to_string()),
                ValueRef::Text(v) => Cell::Text(String::from_utf8_lossy(v).into_owned()),
                ValueRef::Blob(v) => Cell::Blob(v.to_vec()),
            });
        }
        Ok(Row(cells))
    }

    /// A row from PostgreSQL.
    pub(crate) fn from_pg(r: &postgres::Row) -> std::result::Result<Row, postgres::Error> {
        use postgres::types::Type;
        let mut cells = Vec::with_capacity(r.len());
        for (i, c) in r.columns().iter().enumerate() {
            let t = c.type_();
            cells.push(if *t == Type::INT8 {
                r.try_get::<_, Option<i64>>(i)?
                    .map_or(Cell::Null, Cell::Int)
            } else if *t == Type::INT4 {
                r.try_get::<_, Option<i32>>(i)?
                    .map_or(Cell::Null, |v| Cell::Int(i64::from(v)))
            } else if *t == Type::BYTEA {
                r.try_get::<_, Option<Vec<u8>>>(i)?
                    .map_or(Cell::Null, Cell::Blob)
            } else {
                r.try_get::<_, Option<String>>(i)?
                    .map_or(Cell::Null, Cell::Text)
            });
        }
        Ok(Row(cells))
    }
}

/// A statement written for SQLite, for PostgreSQL: `?N` → `$N`, `rowid` → `seq` (outside quoted
/// text).
pub(crate) fn pg_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let bytes = sql.as_bytes();
    let mut i = 0;
    let mut quoted = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\'' {
            quoted = !quoted;
        }
        if !quoted && c == b'?' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            out.push('$');
            i += 1;
            continue;
        }
        if !quoted
            && sql[i..].starts_with("rowid")
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
            && !bytes
                .get(i + 5)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            out.push_str("seq");
            i += 5;
            continue;
        }
        // Multi-byte characters are copied whole.
        let ch = sql[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_translate_for_postgres() {
        assert_eq!(
            pg_sql("SELECT x FROM t WHERE a = ?1 AND b = '?2' ORDER BY created, rowid LIMIT ?10"),
            "SELECT x FROM t WHERE a = $1 AND b = '?2' ORDER BY created, seq LIMIT $10"
        );
        assert_eq!(
            pg_sql("SELECT rowids, my_rowid FROM t"),
            "SELECT rowids, my_rowid FROM t"
        );
    }
}
