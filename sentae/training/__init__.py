"""Training: the Trainer loop (``sentae.training.trainer``), its config, checkpoints, KL schedules and
torch.distributed support. The package itself imports nothing, so that its light modules (``config``,
``kl_schedules``) can be used from the floors below the Trainer."""
