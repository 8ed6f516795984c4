// The print button of printable pages; kept out of the page so the policy allows no inline script.
document.querySelectorAll(".print-button").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
