// "Select all" boxes of the workload board's lists: tick or untick every case box of the same form.
document.querySelectorAll("input[data-select-all]").forEach(function (all) {
  all.hidden = false;
  all.addEventListener("change", function () {
    all.form.querySelectorAll('input[name="cases"]').forEach(function (box) { box.checked = all.checked; });
  });
});
