// The dashboard's one HTML page: static (no value from anywhere is written into it), so a string
// here; everything it shows is built by its scripts from the API's answers.
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>answerdesk · dashboard</title>
  <!-- No icon: the browser would otherwise ask for /favicon.ico (an admin path: 401). -->
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/dashboard/assets/uplot.css">
  <link rel="stylesheet" href="/dashboard/assets/dashboard.css">
  <!-- uPlot first (a classic script that defines window.uPlot); modules run after it, in order. -->
  <script src="/dashboard/assets/uplot.js" defer></script>
  <script type="module" src="/dashboard/assets/app.js"></script>
</head>
<body>
  <header class="topbar">
    <h1>answerdesk</h1>
    <label class="picker" hidden>Chatbot <select id="chatbot-picker"></select></label>
    <span id="llm-status" class="status"></span>
    <button id="sign-out" type="button">Forget the token</button>
  </header>
  <div id="banner" class="banner" role="alert" hidden></div>
  <main>
    <section id="token-gate" class="panel gate" hidden></section>
    <div id="board" hidden></div>
    <noscript><p class="notice">This dashboard needs JavaScript.</p></noscript>
  </main>
</body>
</html>
`;
