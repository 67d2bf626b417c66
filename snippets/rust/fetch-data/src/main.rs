// Rust (tokio + reqwest) counterpart of the article's JavaScript and Python
// snippets: fetch JSON from the same URL inside an explicitly started async
// runtime, then print it.

async fn fetch_data() -> Result<serde_json::Value, reqwest::Error> {
    let response = reqwest::get("https://api.example.com/data").await?;
    let data = response.json().await?;
    Ok(data)
}

// Like Python's asyncio.run(): the runtime must be started explicitly.
#[tokio::main]
async fn main() -> Result<(), reqwest::Error> {
    let data = fetch_data().await?;
    println!("{data:#}");
    Ok(())
}
