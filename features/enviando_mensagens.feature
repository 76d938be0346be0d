# language: pt
Funcionalidade: Respondendo aos pacientes
  A equipe responde pelo Porfin e a mensagem sai pelo WhatsApp da clínica. O WhatsApp só
  aceita texto livre até 24 horas depois da última mensagem do paciente; depois disso, só
  um modelo de mensagem aprovado pode ser enviado. O Porfin acompanha cada mensagem até
  ela ser lida.

  Contexto:
    Dado que a clínica tem o canal simulador
    E que a secretária Ana trabalha na clínica
    E que a paciente Maria (+55 11 98765-4321) escreveu "Quanto custa a limpeza?"

  Cenário: A secretária responde dentro da janela de 24 horas
    Dado que passaram 2 horas
    Quando a secretária Ana responde a Maria "A limpeza custa R$ 200,00"
    Então o WhatsApp recebeu 1 mensagem
    E o WhatsApp recebeu para +55 11 98765-4321 a mensagem "A limpeza custa R$ 200,00"
    E a mensagem de Ana está enviada
    E a conversa de Maria tem 2 mensagens
    E a última mensagem da conversa de Maria é "A limpeza custa R$ 200,00"

  Cenário: Fora da janela de 24 horas a resposta livre é recusada
    Dado que passaram 25 horas
    Quando a secretária Ana responde a Maria "Ainda tem interesse na limpeza?"
    Então a resposta é recusada com o erro "window_closed"
    E o erro orienta a usar um modelo de mensagem aprovado
    E o WhatsApp não recebeu nenhuma mensagem
    E a conversa de Maria tem 1 mensagem
    E a conversa de Maria é atendida pela IA

  Cenário: Fora da janela de 24 horas a secretária envia um modelo aprovado
    Dado que o canal tem o modelo aprovado "retorno" com o texto "Olá {{1}}, ainda tem interesse em {{2}}?"
    E que passaram 25 horas
    Quando a secretária Ana envia a Maria o modelo "retorno" com "Maria" e "uma limpeza"
    Então a mensagem de Ana está enviada
    E o WhatsApp recebeu para +55 11 98765-4321 a mensagem "Olá Maria, ainda tem interesse em uma limpeza?"
    E a conversa de Maria é atendida por uma pessoa

  Cenário: Um modelo precisa de um valor para cada lacuna
    Dado que o canal tem o modelo aprovado "retorno" com o texto "Olá {{1}}, ainda tem interesse em {{2}}?"
    E que passaram 25 horas
    Quando a secretária Ana envia a Maria o modelo "retorno" com "Maria"
    Então a resposta é recusada com o erro "validation_error"
    E o WhatsApp não recebeu nenhuma mensagem

  Cenário: A janela vale até o último minuto
    Dado que passaram 1439 minutos
    Quando a secretária Ana responde a Maria "Ainda dá tempo!"
    Então a mensagem de Ana está enviada

  Cenário: Um "entregue" atrasado não desfaz o "lida"
    Dado que a secretária Ana respondeu a Maria "Temos horário amanhã às 9h"
    Quando o WhatsApp avisa que a mensagem de Ana foi lida
    E o WhatsApp avisa que a mensagem de Ana foi entregue
    Então a mensagem de Ana está lida

  Cenário: A mensagem pode ser lida sem o aviso de entregue
    Dado que a secretária Ana respondeu a Maria "Temos horário amanhã às 9h"
    Quando o WhatsApp avisa que a mensagem de Ana foi lida
    Então a mensagem de Ana está lida

  Cenário: Um aviso que chega antes da confirmação do envio é aplicado depois
    Quando o WhatsApp avisa que a próxima mensagem foi entregue, antes de o Porfin saber dela
    Então o aviso fica guardado à espera da mensagem
    Quando a secretária Ana responde a Maria "Consulta confirmada para amanhã às 9h"
    Então a mensagem de Ana está entregue

  Cenário: Se o WhatsApp recusa a mensagem, ela fica marcada com falha
    Dado que o WhatsApp está recusando mensagens com o erro "131047"
    Quando a secretária Ana responde a Maria "A limpeza custa R$ 200,00"
    Então a mensagem de Ana está com falha, código "131047"
    E a conversa de Maria tem 2 mensagens

  Cenário: Uma mensagem vazia não é enviada
    Quando a secretária Ana responde a Maria "   "
    Então a resposta é recusada com o erro "validation_error"
    E o WhatsApp não recebeu nenhuma mensagem
