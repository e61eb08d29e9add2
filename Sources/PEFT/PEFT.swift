/// Parameter-efficient fine-tuning in Hugging Face PEFT's file format: one adapter framework
/// (``AdapterMethod``, ``AdapterRegistry``, ``Adapters``) and its methods — LoRA (with DoRA and
/// rsLoRA), IA3, prompt tuning, prefix tuning — plus layer freezing and full fine-tuning
/// (``TrainableLayers``).
public enum PEFT {}
