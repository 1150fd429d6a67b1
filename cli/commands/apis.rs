//! APIs and their routes: `import`, `apis`, `routes`, `api delete`.

use super::{store, ApiFlag, JsonFlag};
use crate::output::{date, print_json, Table};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use gw::control::import::{BasePathMode, ImportOptions, Warning};
use gw::control::{self, PutMode};
use gw::model::RestApi;
use std::path::PathBuf;

#[derive(Args)]
pub struct ImportArgs {
    /// The spec file (YAML or JSON).
    file: PathBuf,
    /// Name of the new API (default: the spec's info.title).
    #[arg(long)]
    name: Option<String>,
    /// Re-import into this existing API (id or name) instead of creating one.
    #[arg(long)]
    api: Option<String>,
    /// With --api: overwrite (replace the definition; the default) or merge (add to it).
    #[arg(long, requires = "api")]
    mode: Option<String>,
    /// Treat warnings as an error (nothing is stored).
    #[arg(long)]
    fail_on_warnings: bool,
    /// How to treat the spec's basePath: ignore, prepend or split.
    #[arg(long, default_value = "ignore")]
    basepath: String,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Args)]
pub struct RoutesArgs {
    #[command(flatten)]
    api: ApiFlag,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Subcommand)]
pub enum ApiCommand {
    /// Delete an API with its deployments and stages.
    Delete {
        /// The API, by id or name.
        api: String,
    },
}

pub fn import(state: &Option<PathBuf>, args: ImportArgs) -> Result<()> {
    let file = args.file.display().to_string();
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("cannot read {file}; check the path"))?;
    let Some(basepath) = BasePathMode::parse(&args.basepath) else {
        bail!(
            "--basepath {:?} is not one of ignore, prepend, split",
            args.basepath
        );
    };
    let options = ImportOptions {
        basepath,
        fail_on_warnings: args.fail_on_warnings,
        endpoint_type: None,
    };
    let store = store(state)?;
    let (api, warnings, verb) = match &args.api {
        None => {
            let (api, w) =
                control::import_new(&store, &file, &bytes, args.name.as_deref(), &options)?;
            (api, w, "imported")
        }
        Some(sel) => {
            let mode = args.mode.as_deref().unwrap_or("overwrite");
            let Some(mode) = PutMode::parse(mode) else {
                bail!("--mode {mode:?} is not one of overwrite, merge");
            };
            let (api, w) = control::import_into(&store, sel, &file, &bytes, mode, &options)?;
            (api, w, "re-imported")
        }
    };
    if args.json.json {
        return print_json(&serde_json::json!({
            "id": api.id, "name": api.name, "warnings": warnings,
        }));
    }
    print_warnings(&warnings);
    outln!(
        "{verb} API {} (id {}) with {} route(s)",
        api.name,
        api.id,
        api.method_count()
    );
    out!("{}", routes_table(&api));
    Ok(())
}

fn print_warnings(warnings: &[Warning]) {
    if warnings.is_empty() {
        return;
    }
    eprintln!("{} warning(s):", warnings.len());
    for w in warnings.iter().take(20) {
        eprintln!("  warning: {w}");
    }
    if warnings.len() > 20 {
        eprintln!(
            "  ... and {} more (`gw import --json` lists all)",
            warnings.len() - 20
        );
    }
}

pub fn apis(state: &Option<PathBuf>, json: JsonFlag) -> Result<()> {
    let list = store(state)?.read(|tx| tx.api_summaries())?;
    if json.json {
        return print_json(&list);
    }
    let mut t = Table::new(&["ID", "NAME", "ROUTES", "CREATED", "DESCRIPTION"]);
    for a in &list {
        t.row(vec![
            a.id.clone(),
            a.name.clone(),
            a.route_count.to_string(),
            date(a.created_date),
            a.description
                .as_deref()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect(),
        ]);
    }
    if t.is_empty() {
        outln!("no APIs yet: import one with `gw import SPEC`");
    } else {
        out!("{t}");
    }
    Ok(())
}

pub fn api_command(state: &Option<PathBuf>, cmd: ApiCommand) -> Result<()> {
    match cmd {
        ApiCommand::Delete { api } => {
            let api = control::delete_api(&store(state)?, &api)?;
            outln!("deleted API {} ({})", api.name, api.id);
        }
    }
    Ok(())
}

/// One route as `gw routes --json` prints it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RouteRow {
    http_method: String,
    path: String,
    resource_id: String,
    integration_type: Option<String>,
    target: Option<String>,
    authorization_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<String>,
    api_key_required: bool,
}

fn route_rows(api: &RestApi) -> Vec<RouteRow> {
    api.routes()
        .map(|(r, m)| {
            let i = m.method_integration.as_ref();
            RouteRow {
                http_method: m.http_method.clone(),
                path: r.path.clone(),
                resource_id: r.id.clone(),
                integration_type: i.map(|i| i.kind.as_str().to_string()),
                target: i.and_then(gw::gateway::integrations::describe_target),
                authorization_type: m.authorization_type.clone(),
                authorizer: m.authorizer_id.as_ref().and_then(|id| {
                    api.authorizers
                        .iter()
                        .find(|a| &a.id == id)
                        .map(|a| a.name.clone())
                }),
                api_key_required: m.api_key_required,
            }
        })
        .collect()
}

fn routes_table(api: &RestApi) -> Table {
    let mut t = Table::new(&["METHOD", "PATH", "INTEGRATION", "TARGET", "AUTH"]);
    for r in route_rows(api) {
        let mut auth = r.authorization_type.clone();
        if let Some(a) = &r.authorizer {
            auth = format!("{auth} ({a})");
        }
        if r.api_key_required {
            auth.push_str(" +API key");
        }
        t.row(vec![
            r.http_method,
            r.path,
            r.integration_type.unwrap_or_else(|| "-".into()),
            r.target.unwrap_or_else(|| "-".into()),
            auth,
        ]);
    }
    t
}

pub fn routes(state: &Option<PathBuf>, args: RoutesArgs) -> Result<()> {
    let api = store(state)?.read(|tx| tx.resolve_api(args.api.api.as_deref()))?;
    if args.json.json {
        return print_json(&serde_json::json!({
            "id": api.id, "name": api.name, "item": route_rows(&api),
        }));
    }
    out!("{}", routes_table(&api));
    Ok(())
}
