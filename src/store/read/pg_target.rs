//! A PostgreSQL connection string, parsed, shown without its password, and
//! connected to. A stand-in with the interface of
//! `store::postgres::connect` (`Target::parse`, `Target::display`,
//! `Target::connect`, `runtime`) until that module lands; the reads use
//! only that interface, through one `use`.

use anyhow::{Context, Result, bail};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::str::FromStr;
use tokio::runtime::Runtime;

/// A database to connect to.
#[derive(Debug, Clone)]
pub struct Target {
    options: PgConnectOptions,
    shown: String,
}

impl Target {
    /// A `postgres://` / `postgresql://` URL or a libpq `key=value` string.
    pub fn parse(text: &str) -> Result<Target> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            let shown = url_without_password(text);
            let options = PgConnectOptions::from_str(text)
                .with_context(|| format!("{shown}: not a PostgreSQL connection URL"))?;
            return Ok(Target { options, shown });
        }
        let pairs = key_values(text)?;
        let mut options = PgConnectOptions::new();
        let mut shown = Vec::new();
        for (key, value) in &pairs {
            options = match key.as_str() {
                "host" | "hostaddr" if value.starts_with('/') => options.socket(value),
                "host" | "hostaddr" => options.host(value),
                "port" => options.port(
                    value
                        .parse()
                        .with_context(|| format!("port={value}: not a port"))?,
                ),
                "user" => options.username(value),
                "password" => options.password(value),
                "dbname" => options.database(value),
                "sslmode" => options.ssl_mode(
                    value
                        .parse()
                        .with_context(|| format!("sslmode={value}: not an sslmode"))?,
                ),
                "sslrootcert" => options.ssl_root_cert(value.as_str()),
                "application_name" => options.application_name(value),
                "connect_timeout" => options,
                other => bail!("{other}: not a connection setting this tool knows"),
            };
            if key != "password" {
                shown.push(format!("{key}={value}"));
            }
        }
        Ok(Target {
            options,
            shown: shown.join(" "),
        })
    }

    /// The connection string without its password.
    pub fn display(&self) -> String {
        self.shown.clone()
    }

    /// Connects, waiting at most [`super::TIMEOUT`].
    pub fn connect(&self, rt: &Runtime) -> Result<PgConnection> {
        rt.block_on(async {
            tokio::time::timeout(super::TIMEOUT, PgConnection::connect_with(&self.options)).await
        })
        .map_err(|_| anyhow::anyhow!("no answer within {:?}", super::TIMEOUT))?
        .map_err(Into::into)
    }
}

/// The runtime that drives the connection from this thread.
pub fn runtime() -> Result<Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// `postgres://user:secret@host/db?password=x` → `postgres://user@host/db`.
fn url_without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|p| !p.to_ascii_lowercase().starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// libpq's `key=value key='quoted value'` form.
fn key_values(text: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            bail!("{key}: a connection setting needs a value (key=value)");
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => bail!("{key}: unterminated quoted value"),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key.to_ascii_lowercase(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        assert_eq!(
            url_without_password(
                "postgres://root:s3cret@127.0.0.1:5432/test?sslmode=disable&password=x"
            ),
            "postgres://root@127.0.0.1:5432/test?sslmode=disable"
        );
        assert_eq!(
            url_without_password("postgresql://h/db"),
            "postgresql://h/db"
        );
        let t = Target::parse("host=127.0.0.1 password='a b' dbname=test").unwrap();
        assert_eq!(t.display(), "host=127.0.0.1 dbname=test");
        let t = Target::parse("postgres://u:pw@h:1/d").unwrap();
        assert_eq!(t.display(), "postgres://u@h:1/d");
    }
}
