/**
 * The page where an operator pastes an admin JWT: a plain form that POSTs it to /admin/queues/session
 * (the body, never the URL). No script, no outside resource.
 */
export const BOARD_LOGIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>LinkoJob queues: sign in</title>
<meta name="referrer" content="no-referrer">
<style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}textarea{width:100%;height:8rem}button{margin-top:.5rem;padding:.4rem 1rem}</style>
</head>
<body>
<h1>Queues</h1>
<form method="post" action="/admin/queues/session">
<label for="token">Admin token (JWT, role admin)</label>
<textarea id="token" name="token" required autocomplete="off" spellcheck="false"></textarea>
<button type="submit">Open the board</button>
</form>
</body>
</html>
`;
