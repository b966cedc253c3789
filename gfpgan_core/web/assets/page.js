() => {
  // Names for the controls Gradio renders without one (axe-core "button-name"): each example is a
  // button holding only a thumbnail, read by a screen reader as "button". It is named after its file
  // ("Example: damaged old photo"), as the examples are rendered and re-rendered (paging, new results).
  const name = (button) => {
    const img = button.querySelector("img");
    if (!img || button.getAttribute("aria-label")) return;
    const file = decodeURIComponent((img.getAttribute("src") || "").split("?")[0].split("/").pop() || "");
    const words = file.replace(/\.[^.]+$/, "").replace(/[_-]+/g, " ").trim();
    button.setAttribute("aria-label", words ? `Example: ${words}` : "Example photo");
    img.setAttribute("alt", "");  // the button carries the name; the thumbnail is decoration
  };
  const label = () => document.querySelectorAll("#examples button").forEach(name);
  new MutationObserver(label).observe(document.body, { childList: true, subtree: true });
  label();
}
