//! Connection strings (placeholder until the full libpq handling lands).
use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::runtime::Runtime;

pub fn is_postgres(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

#[derive(Debug, Clone)]
pub struct Target {
    opts: PgConnectOptions,
    shown: String,
}

impl Target {
    pub fn parse(s: &str) -> Result<Target> {
        let opts: PgConnectOptions = s.parse().context("bad connection string")?;
        let shown = match url::Url::parse(s) {
            Ok(mut u) => {
                let _ = u.set_password(None);
                u.to_string()
            }
            Err(_) => "postgres".into(),
        };
        Ok(Target { opts, shown })
    }
    pub fn display(&self) -> String {
        self.shown.clone()
    }
    pub fn connect(&self, rt: &Runtime) -> Result<PgConnection> {
        use sqlx::ConnectOptions;
        rt.block_on(self.opts.connect())
            .with_context(|| format!("cannot connect to {}", self.shown))
    }
}

pub fn runtime() -> Result<Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
