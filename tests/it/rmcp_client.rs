//! The official Rust SDK (rmcp) as a client of a mock, in-process, over Streamable HTTP.

use crate::inproc::start;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{json, to_value};
use std::time::Duration;

#[tokio::test]
async fn rmcp_client_lists_calls_reads_and_gets_prompts() {
    let s = start("mock-servers/conformance.yaml").await;
    let transport = StreamableHttpClientTransport::from_uri(s.url.clone());
    let client = tokio::time::timeout(Duration::from_secs(10), ().serve(transport))
        .await
        .expect("initialize in time")
        .expect("initialize");
    let info = to_value(client.peer_info().expect("server info")).unwrap();
    assert_eq!(info["serverInfo"]["name"], s.mock.name());

    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "test_simple_text"));

    let call = client
        .call_tool(CallToolRequestParams::new("test_simple_text"))
        .await
        .expect("tools/call");
    let call = to_value(&call).unwrap();
    assert_eq!(
        call["content"][0]["text"],
        "This is a simple text response for testing."
    );

    let err = client
        .call_tool(CallToolRequestParams::new("test_error_handling"))
        .await
        .expect("a tool error is a result, not a protocol error");
    assert_eq!(to_value(&err).unwrap()["isError"], true);

    let read = client
        .read_resource(ReadResourceRequestParams::new("test://static-text"))
        .await
        .expect("resources/read");
    let read = to_value(&read).unwrap();
    assert_eq!(read["contents"][0]["uri"], "test://static-text");
    assert!(
        read["contents"][0]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );

    let args = json!({"arg1": "one", "arg2": "two"});
    let prompt = client
        .get_prompt(
            GetPromptRequestParams::new("test_prompt_with_arguments")
                .with_arguments(args.as_object().cloned().unwrap()),
        )
        .await
        .expect("prompts/get");
    let text = to_value(&prompt).unwrap()["messages"].to_string();
    assert!(text.contains("one") && text.contains("two"), "{text}");

    let snap = s.mock.ledger().snapshot();
    assert_eq!(snap.methods["initialize"], 1);
    assert!(snap.methods["tools/call"] >= 2);
    client.cancel().await.expect("close");
}
