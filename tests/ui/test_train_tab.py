"""Train tab handlers: method info, the plan, starting a job that makes a ready version, polling
with the loss curve, cancel, re-attaching after a reload, and clear refusals."""
from __future__ import annotations

from incseg_app.domain.enums import JobKind, JobStatus, VersionStatus
from incseg_app.services import jobs, training, versions
from incseg_app.ui import train_tab
from ui_helpers import add_pseudo, ctx, filled, plain, runner  # noqa: F401

DEFAULTS = (2, 2, 64, 0.005)  # epochs, batch size, crop, lr


def test_every_registered_method_has_a_description_and_its_parts():
    for method in training.list_methods():
        text, parts = train_tab.method_info(method.name)
        assert method.name in text and parts["choices"] == list(method.parts)
    assert train_tab.method_info("nope")[0] == ""


def test_plan_says_what_will_be_trained_on_what(filled):
    add_pseudo(filled, [0.5, 0.6])
    text = plain(train_tab.show_plan(filled, "finetune", [], False, False))
    assert "none (a new base model)" in text and "**Learns (new classes):** sky, grass" in text
    assert "**Training images:** 2 (masks: pseudo (to review): 2)" in text
    assert "**validation images:** 2" in text and "not reviewed yet" in text
    strict = train_tab.show_plan(filled, "finetune", [], True, False)
    assert "**Training images:** 0" in strict


def test_start_poll_until_the_version_is_ready(filled, runner):
    add_pseudo(filled, [0.5, 0.6, 0.7, 0.8])
    status, job_id, html, timer, losses = train_tab.start(filled, runner, "finetune", [], [], *DEFAULTS,
                                                          False, False, "first")
    assert status.startswith("✅") and timer.active and losses == []
    job = runner.wait(job_id, timeout=300)
    assert job.status == JobStatus.DONE, job.error
    html, timer, losses, plot, done = train_tab.poll(filled, job_id, [])
    done = plain(done)
    version = versions.active_version(filled)
    assert "100%" in html and not timer.active
    assert f"Version v{version.id} is ready and active" in done
    assert (version.name, version.status, version.method) == ("first", VersionStatus.READY, "finetune")
    assert version.config["train"]["epochs"] == 2


def test_poll_reads_the_live_loss_from_the_job_message(filled):
    job = jobs.create_job(filled, JobKind.TRAIN)
    jobs.start_job(filled, job.id)
    jobs.update_progress(filled, job.id, 0.25, "training: epoch 1/2 · loss 0.7500")
    html, timer, losses, plot, done = train_tab.poll(filled, job.id, [])
    assert losses == [{"progress": 25.0, "loss": 0.75}] and timer.active and done == ""
    assert list(plot["loss"]) == [0.75]
    jobs.fail_job(filled, job.id, "out of memory")
    html, timer, losses, plot, done = train_tab.poll(filled, job.id, losses)
    assert not timer.active and "failed" in done and "out of memory" in done


def test_reload_reattaches_to_the_running_job_and_cancel_sets_the_flag(filled):
    job = jobs.create_job(filled, JobKind.TRAIN)
    jobs.start_job(filled, job.id)
    new_ids, job_id, html, timer = train_tab.refresh(filled)
    assert job_id == job.id and timer.active and new_ids["choices"] == [("sky", 1), ("grass", 2)]
    assert "Cancelling" in train_tab.cancel(filled, job.id)
    assert jobs.get_job(filled, job.id).cancel_requested


def test_a_step_without_data_is_refused_with_its_reason_before_a_job_starts(filled, runner):
    status, *_ = train_tab.start(filled, runner, "finetune", [], [], *DEFAULTS, False, False, "")
    assert status.startswith("⚠️") and "no training images with masks" in status
    assert jobs.list_jobs(filled, JobKind.TRAIN) == []
    assert versions.list_versions(filled) == []


def test_a_bad_part_is_refused_before_a_job_starts(filled, runner):
    add_pseudo(filled, [0.5])
    gsc = next(m for m in training.list_methods() if m.name == "gsc")
    status, *_ = train_tab.start(filled, runner, "finetune", [], [gsc.parts[0]], *DEFAULTS, False, False, "")
    assert status.startswith("⚠️") and "has no part" in status
    assert jobs.list_jobs(filled, JobKind.TRAIN) == []
