"""Train tab handlers: plain-language methods with the recommended (not finetune) one first, the plan
(what trains, what validates — reviewed masks only unless asked), a job that makes a ready version, the
loss curve read from stored metrics (so it survives a reload), the running job's settings after a
reload, cancel, the status line saying how the job ended, and clear refusals."""
from __future__ import annotations

from incseg_app.domain.enums import JobKind, JobStatus, MaskKind, ReviewStatus, VersionStatus
from incseg_app.services import images, job_metrics, jobs, masks, training, versions
from incseg_app.ui import train_tab
from ui_helpers import add_pseudo, ctx, filled, plain, runner, scene_mask  # noqa: F401

DEFAULTS = (2, 2, 64, 0.005)  # epochs, batch size, crop, lr
SKIP = {"__type__": "update"}  # gr.skip(): the output is left as it is


def test_the_recommended_method_comes_first_and_is_not_finetune():
    choices = train_tab.method_choices()
    label, name = choices[0]
    assert name == training.DEFAULT_METHOD != "finetune" and "recommended" in label and "keeps old classes" in label
    assert dict((n, lbl) for lbl, n in choices)["finetune"].startswith("forgets old classes")
    assert [n for _, n in choices][-2:] == ["finetune", "joint"]  # the references last
    assert sorted(n for _, n in choices) == sorted(m.name for m in training.list_methods())


def test_every_registered_method_has_details_and_its_parts():
    for method in training.list_methods():
        text, parts = train_tab.method_info(method.name)
        assert method.name in text and "<details>" in text and parts["choices"] == list(method.parts)
    assert train_tab.method_info("nope")[0] == ""


def test_plan_says_what_trains_and_what_validates(filled):
    add_pseudo(filled, [0.5, 0.6])
    text = plain(train_tab.show_plan(filled, "mib", [], False, False, False))
    assert "none (a new base model)" in text and "**Learns (new classes):** sky, grass" in text
    assert "**Training images:** 2 (masks: pseudo (to review): 2)" in text
    assert "**Validated on:** 2 val image(s), reviewed masks only (ground truth: 2)" in text
    assert "not reviewed yet" in text
    assert "**Training images:** 0" in train_tab.show_plan(filled, "mib", [], True, False, False)


def test_unreviewed_val_drafts_validate_only_when_asked(filled):
    val = images.list_images(filled, split="val")[0]
    masks.save_mask(filled, val.id, scene_mask(), MaskKind.PSEUDO, ReviewStatus.TO_REVIEW, force=True)
    text = plain(train_tab.show_plan(filled, "mib", [], False, False, False))
    assert "**Validated on:** 1 val image(s), reviewed masks only" in text and "do not validate the step" in text
    asked = plain(train_tab.show_plan(filled, "mib", [], False, False, True))
    assert "2 val image(s), reviewed masks and unreviewed drafts (you asked)" in asked


def test_start_poll_until_the_version_is_ready_and_the_curve_is_stored(filled, runner):
    add_pseudo(filled, [0.5, 0.6, 0.7, 0.8])
    status, job_id, html, timer, plot = train_tab.start(filled, runner, "finetune", [], [], *DEFAULTS,
                                                        False, False, "first", False)
    assert status.startswith("✓") and timer.active and plot.empty
    job = runner.wait(job_id, timeout=300)
    assert job.status == JobStatus.DONE, job.error
    html, timer, plot, done, line = train_tab.poll(filled, job_id, status)
    assert line == f"✓ Training finished (job {job_id})."  # the start line no longer says it runs
    version = versions.active_version(filled)
    assert "100%" in html and not timer.active and f"Version v{version.id} is ready and active" in plain(done)
    assert (version.name, version.status, version.method) == ("first", VersionStatus.READY, "finetune")
    assert version.config["eval"]["include_drafts"] is False and version.config["train"]["epochs"] == 2
    assert len(plot) >= 2 and list(plot["progress"])[-1] == 100.0
    reloaded = train_tab.refresh(filled)  # a page reload: the curve comes back from the store
    assert reloaded[1] == job_id and list(reloaded[4]["loss"]) == list(plot["loss"])


def test_poll_reads_the_curve_from_stored_metrics_not_the_message(filled):
    job = jobs.create_job(filled, JobKind.TRAIN)
    jobs.start_job(filled, job.id)
    jobs.update_progress(filled, job.id, 0.25, "training: epoch 1/2 · loss 9.9999")
    writer = job_metrics.MetricsWriter(filled, job.id)
    writer.add(0.25, {"total": 0.75})
    writer.flush()
    html, timer, plot, done, line = train_tab.poll(filled, job.id, train_tab.started(job.id))
    assert list(plot["loss"]) == [0.75] and timer.active and done == "" and line == SKIP
    jobs.fail_job(filled, job.id, "out of memory")
    html, timer, plot, done, line = train_tab.poll(filled, job.id, train_tab.started(job.id))
    assert not timer.active and "failed" in done and "out of memory" in done
    assert line.startswith("⚠") and f"Training failed (job {job.id}): out of memory" in line


def test_the_status_line_says_how_the_job_ended_only_while_it_shows_that_job(filled):
    job = jobs.create_job(filled, JobKind.TRAIN)
    jobs.start_job(filled, job.id)
    cancelling = train_tab.cancel(filled, job.id)
    jobs.cancel_job(filled, job.id)
    line = train_tab.poll(filled, job.id, cancelling)[4]
    assert line.startswith("⚠") and "was cancelled" in line and "no version is made" in line
    for other in ("Some other status.", train_tab.started(job.id + 1), "", None):
        assert train_tab.poll(filled, job.id, other)[4] == SKIP
    assert train_tab.poll(filled, None, train_tab.started(job.id))[4] == SKIP


def test_a_reload_shows_the_running_jobs_settings(filled):
    request = training.TrainRequest(method="gsc", new_class_ids=(2,), parts_off=("gsc_relation",), epochs=3,
                                    batch_size=4, crop_size=96, lr=0.01, accepted_only=True, name="b",
                                    validate_on_drafts=True)
    from dataclasses import asdict
    job = jobs.create_job(filled, JobKind.TRAIN, asdict(request))
    jobs.start_job(filled, job.id)
    new_ids, job_id, html, timer, plot, done, *form = train_tab.refresh(filled)
    assert job_id == job.id and timer.active and new_ids["choices"] == [("sky", 1), ("grass", 2)]
    method, classes_, parts, epochs, batch, crop, lr, accepted, scratch, name, on_drafts, details = form
    assert (method, classes_, epochs, batch, crop, lr, accepted, name, on_drafts) == (
        "gsc", [2], 3, 4, 96, 0.01, True, "b", True)
    assert parts["value"] == ["gsc_relation"] and "gsc_relation" in parts["choices"] and "gsc" in details
    assert "Cancelling" in train_tab.cancel(filled, job.id) and jobs.get_job(filled, job.id).cancel_requested


def test_a_step_without_data_is_refused_with_its_reason_before_a_job_starts(filled, runner):
    status, *_ = train_tab.start(filled, runner, "finetune", [], [], *DEFAULTS, False, False, "", False)
    assert status.startswith("⚠") and "no training images with masks" in status
    assert jobs.list_jobs(filled, JobKind.TRAIN) == [] and versions.list_versions(filled) == []


def test_a_bad_part_is_refused_before_a_job_starts(filled, runner):
    add_pseudo(filled, [0.5])
    gsc = next(m for m in training.list_methods() if m.name == "gsc")
    status, *_ = train_tab.start(filled, runner, "finetune", [], [gsc.parts[0]], *DEFAULTS, False, False, "", False)
    assert status.startswith("⚠") and "has no part" in status
    assert jobs.list_jobs(filled, JobKind.TRAIN) == []
