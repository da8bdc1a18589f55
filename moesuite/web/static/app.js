// Keyboard shortcuts for the common actions; ignored while typing in a field.
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  const click = (selector) => {
    const element = document.querySelector(selector);
    if (element) { event.preventDefault(); element.click(); }
  };
  const submit = (id) => {
    const form = document.getElementById(id);
    if (form) { event.preventDefault(); form.requestSubmit(); }
  };
  switch (event.key) {
    case "f": click("#label-fraud"); break;
    case "l": click("#label-legit"); break;
    case "d": submit("decide-form"); break;
    case "e": submit("escalate-form"); break;
    case "r": submit("release-form"); break;
    case "n": submit("next-form"); break;
  }
});
