/// Training: datasets, `Trainer.fit`, optimizers, schedules, losses and metrics.
public enum Train {}
